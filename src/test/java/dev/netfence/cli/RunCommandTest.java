package dev.netfence.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.app.RunService;
import dev.netfence.event.Outcome;
import dev.netfence.event.OutcomeCodec;
import dev.netfence.kafka.testkit.TestKafka;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class RunCommandTest {
    @TempDir
    Path dir;

    private static int run(RunCommand command, StringWriter err, String... args) {
        return Main.configure(new CommandLine(command), new PrintWriter(new StringWriter(), true),
                new PrintWriter(err, true)).execute(args);
    }

    @Test
    void aBadOptionValueIsAUsageErrorNamingTheOption() {
        StringWriter err = new StringWriter();
        int code = run(new RunCommand(Map.of()), err, "--concurrency", "zero");
        assertThat(code).isEqualTo(Main.USAGE);
        assertThat(err.toString().trim()).isEqualTo(
                "netfence run: invalid value for --concurrency: must be an integer from 1 to 1024, was: zero");
    }

    @Test
    void anUnknownConfigFileKeyIsAUsageError() throws Exception {
        Path file = dir.resolve("n.properties");
        Files.writeString(file, "nodeid=n1\n");
        StringWriter err = new StringWriter();
        assertThat(run(new RunCommand(Map.of()), err, "--config", file.toString())).isEqualTo(Main.USAGE);
        assertThat(err.toString()).contains("unknown key in config file " + file + ": nodeid");
    }

    @Test
    void runTurnsAnEventIntoAnOutcomeAndStopsCleanlyWithExitZero() throws Exception {
        String events = TestKafka.uniqueTopic("run-events");
        String outcomes = events + ".outcomes";
        TestKafka.createTopics(1, events, outcomes, events + ".dlq");
        Files.writeString(dir.resolve("task-1.json"), "{\"schemaVersion\": 1, \"preset\": \"default\"}");
        Path config = dir.resolve("netfence.properties");
        Files.writeString(config, "kafka.session.timeout.ms=6000\nkafka.heartbeat.interval.ms=500\n");
        AtomicReference<RunService> service = new AtomicReference<>();
        RunCommand command = new RunCommand(Map.of("NETFENCE_NODE_ID", "run-node")).onStarted(service::set);
        StringWriter err = new StringWriter();
        int httpPort = freePort();
        CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> run(command, err,
                "--http-port", Integer.toString(httpPort),
                "--bootstrap-servers", TestKafka.bootstrapServers(), "--events-topic", events,
                "--outcomes-topic", outcomes, "--policy-dir", dir.toString(), "--dry-run", "--config", config.toString(),
                "--shutdown-timeout", "5s"));
        try (KafkaProducer<byte[], byte[]> p = TestKafka.producer()) {
            String event = "{\"schemaVersion\":1,\"type\":\"container.started\",\"eventId\":\"run-e1\",\"occurredAt\":\""
                    + Instant.now() + "\",\"nodeId\":\"run-node\",\"taskId\":\"task-1\",\"containerId\":\"c-run\","
                    + "\"pid\":999999}";
            p.send(new ProducerRecord<>(events, "run-node".getBytes(StandardCharsets.UTF_8),
                    event.getBytes(StandardCharsets.UTF_8))).get(30, TimeUnit.SECONDS);
        }
        await().atMost(Duration.ofSeconds(90)).until(() -> !TestKafka.readAll(outcomes).isEmpty());
        Outcome o = new OutcomeCodec().decode(TestKafka.readAll(outcomes).get(0).value());
        assertThat(o.eventId()).isEqualTo("run-e1");
        assertThat(o.containerId()).isEqualTo("c-run");
        assertThat(o.enforcer().instance()).startsWith("run-node/");
        await().atMost(Duration.ofSeconds(30)).until(() -> service.get() != null && service.get().ready());
        assertThat(get(httpPort, "/readyz").statusCode()).isEqualTo(200);
        assertThat(get(httpPort, "/healthz").statusCode()).isEqualTo(200);
        String metrics = get(httpPort, "/metrics").body();
        assertThat(metrics).contains("netfence_outcomes_total{", "netfence_events_consumed_total{",
                "netfence_event_latency_seconds_bucket{", "netfence_apply_duration_seconds_bucket{");

        command.requestStop();
        assertThat(exit.get(60, TimeUnit.SECONDS)).as(err.toString()).isEqualTo(Main.OK);
        assertThat(service.get().ready()).isFalse();
    }

    @Test
    void whileTheStartWaitsForABrokerThatCannotBeReachedHealthIsServedAliveAndNotReady() throws Exception {
        int httpPort = freePort();
        int noBroker = freePort();
        StringWriter err = new StringWriter();
        // its host guards leave the host table alone: under off a start removes every chain there, and this class
        // takes no machine lock (a podman test's chains may be in the table meanwhile)
        RunCommand command = new RunCommand(Map.of("NETFENCE_NODE_ID", "waiting-node"))
                .hostGuards(dev.netfence.app.HostGuardStart.INERT);
        int[] exit = {-1};
        Thread start = new Thread(() -> exit[0] = run(command, err, "--http-port", Integer.toString(httpPort),
                "--bootstrap-servers", "127.0.0.1:" + noBroker, "--policy-dir", dir.toString(), "--host-guard", "off",
                "--cgroup-check", "false", "--hook-socket", "off", "--shutdown-timeout", "2s"), "run-waiting");
        start.start();
        try {
            await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> get(httpPort, "/readyz").statusCode() == 503);
            var ready = get(httpPort, "/readyz");
            assertThat(ready.body()).contains(RunCommand.STARTING);
            assertThat(get(httpPort, "/healthz").statusCode()).as("a waiting start is alive").isEqualTo(200);
            assertThat(start.isAlive()).isTrue();
        } finally {
            start.interrupt(); // nothing else ends a start waiting for the broker (SIGTERM ends the JVM)
            start.join(60_000);
        }
        assertThat(start.isAlive()).isFalse();
        assertThat(exit[0]).as(err.toString()).isEqualTo(Main.RUNTIME_FAILURE);
        assertThat(err.toString()).contains("netfence run: cannot start: ");
    }

    private static int freePort() {
        return dev.netfence.testkit.LoopbackPorts.unused();
    }

    private static java.net.http.HttpResponse<String> get(int port, String path) throws Exception {
        return java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + path)).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
    }
}
