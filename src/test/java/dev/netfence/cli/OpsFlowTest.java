package dev.netfence.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.app.RunConfig;
import dev.netfence.app.RunService;
import dev.netfence.event.Outcome;
import dev.netfence.event.OutcomeCodec;
import dev.netfence.kafka.testkit.TestKafka;
import dev.netfence.ops.HealthStatus;
import dev.netfence.ops.MetricsServer;
import dev.netfence.ops.NetfenceMetrics;
import dev.netfence.testkit.KafkaLane;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The operator's path end to end against a running service (dry run, so no namespace is
 * touched): store a policy with {@code policy put}, publish an event, read its outcome, replay
 * it and see the replayed outcome marked {@code replay: true}, while {@code /readyz} and
 * {@code /metrics} of the {@link MetricsServer} wired to the service report on it.
 */
@KafkaLane
class OpsFlowTest {

    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void aPublishedEventAndItsReplayYieldOutcomesAndTheServiceReportsReadinessAndMetrics() throws Exception {
        String events = TestKafka.uniqueTopic("flow-events");
        String outcomes = events + ".outcomes";
        String policies = events + ".policies";
        TestKafka.createTopics(2, events, outcomes, events + ".dlq");
        TestKafka.createCompactedTopic(policies, 1);
        String[] topics = {"--bootstrap-servers", TestKafka.bootstrapServers(), "--events-topic", events,
                "--outcomes-topic", outcomes, "--policies-topic", policies};
        Path policy = TestKafka.tempDir("flow").resolve("policy.json");
        Files.writeString(policy, "{\"schemaVersion\": 1, \"preset\": \"default\"}");
        assertThat(CommandRun.of(new PolicyCommand(), concat(new String[] {"put", "task-flow", policy.toString()}, topics))
                .exitCode()).isZero();

        RunConfig config = RunOptionsTest.config(Map.of(), "--bootstrap-servers", TestKafka.bootstrapServers(),
                "--node-id", "flow-node", "--events-topic", events, "--outcomes-topic", outcomes,
                "--policies-topic", policies, "--dry-run", "--shutdown-timeout", "5s");
        try (NetfenceMetrics metrics = NetfenceMetrics.create();
             RunService service = RunService.start(config, "test", metrics.registry(), Clock.systemUTC());
             MetricsServer server = MetricsServer.start(0, metrics.registry(), HealthStatus::up,
                     () -> service.ready() ? HealthStatus.up() : HealthStatus.down("not ready"))) {
            await().atMost(Duration.ofSeconds(60)).until(() -> get(server, "/readyz").statusCode() == 200);

            CommandRun publish = CommandRun.of(new PublishCommand(),
                    concat(new String[] {"--task", "task-flow", "--container", "c-flow", "--node", "flow-node",
                            "--pid", "999999"}, topics));
            assertThat(publish.exitCode()).as(publish.err()).isZero();
            Outcome first = outcomes(topics, 1).get(0);
            assertThat(first.replay()).isFalse();
            assertThat(first.taskId()).isEqualTo("task-flow");

            CommandRun replay = CommandRun.of(new ReplayCommand(),
                    concat(new String[] {"--from", "-10m", "--node", "flow-node"}, topics));
            assertThat(replay.exitCode()).as(replay.err()).isZero();
            assertThat(replay.out()).contains("replayed 1 of 1 matching events");
            List<Outcome> both = outcomes(topics, 2);
            assertThat(both).extracting(Outcome::eventId).containsOnly(first.eventId());
            assertThat(both).extracting(Outcome::replay).containsExactlyInAnyOrder(false, true);

            String scraped = get(server, "/metrics").body();
            assertThat(scraped).contains("netfence_events_consumed_total{type=\"container.started\"}")
                    .contains("netfence_outcomes_total")
                    .contains("netfence_event_latency_seconds_bucket{le=\"+Inf\"")
                    .contains("netfence_inflight");
        }
    }

    private static List<Outcome> outcomes(String[] topics, int count) {
        CommandRun run = CommandRun.of(new OutcomesCommand(), concat(new String[] {"--follow", "--since", "-10m",
                "--container", "c-flow", "--count", String.valueOf(count), "--wait", "120s", "--json"}, topics));
        assertThat(run.exitCode()).as(run.err()).isZero();
        OutcomeCodec codec = new OutcomeCodec();
        return run.out().lines().map(l -> codec.decode(l.getBytes(StandardCharsets.UTF_8))).toList();
    }

    private HttpResponse<String> get(MetricsServer server, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static String[] concat(String[] a, String[] b) {
        String[] all = new String[a.length + b.length];
        System.arraycopy(a, 0, all, 0, a.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
