package dev.netfence.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.netfence.core.EnforcementResult.ErrorInfo;
import dev.netfence.core.ErrorCode;
import dev.netfence.event.Outcome;
import dev.netfence.event.OutcomeCodec;
import dev.netfence.kafka.testkit.TestKafka;
import dev.netfence.testkit.KafkaLane;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

@KafkaLane
class OutcomesCommandTest {

    // record timestamps are real (the broker may enforce retention), the command's clock is fixed to them
    private final Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    private final Clock clock = Clock.fixed(now, ZoneOffset.UTC);
    private final OutcomeCodec codec = new OutcomeCodec();
    private String topic;

    @BeforeEach
    void outcomes() throws Exception {
        topic = TestKafka.uniqueTopic("outcomes");
        TestKafka.createTopics(2, topic);
        try (KafkaProducer<byte[], byte[]> producer = TestKafka.producer()) {
            send(producer, 120, outcome("old-1", "applied", null, 10L, 120));
            send(producer, 30, outcome("a-1", "applied", null, 12L, 30));
            send(producer, 20, outcome("a-2", "applied", null, 40L, 20));
            send(producer, 10, outcome("f-1", "failed", ErrorCode.RULES_REJECTED, 300L, 10));
            send(producer, 5, outcome("s-1", "skipped", ErrorCode.CONTAINER_NOT_FOUND, 7L, 5));
            producer.send(new ProducerRecord<>(topic, null, now.minusSeconds(4).toEpochMilli(),
                    "junk".getBytes(StandardCharsets.UTF_8), "not json".getBytes(StandardCharsets.UTF_8))).get();
        }
    }

    private void send(KafkaProducer<byte[], byte[]> producer, int minutesAgo, Outcome outcome) throws Exception {
        producer.send(new ProducerRecord<>(topic, null, now.minusSeconds(minutesAgo * 60L).toEpochMilli(),
                outcome.containerId().getBytes(StandardCharsets.UTF_8), codec.encode(outcome))).get();
    }

    private Outcome outcome(String container, String status, ErrorCode code, Long latencyMs, int minutesAgo) {
        Instant finished = now.minusSeconds(minutesAgo * 60L);
        return new Outcome(1, "ev-" + container, "task-42", container, "worker-7", status, null, "bridge",
                "iptables-nft", List.of("ipv4"), 3, null, null, false, 1,
                code == null ? null : ErrorInfo.of(code, "why " + container), finished.minusMillis(latencyMs),
                finished, latencyMs, false, "start", new Outcome.EnforcerInfo("worker-7/1", "0.1.0"));
    }

    private CommandRun outcomes(String... args) {
        String[] full = new String[args.length + 4];
        System.arraycopy(args, 0, full, 0, args.length);
        full[args.length] = "--bootstrap-servers";
        full[args.length + 1] = TestKafka.bootstrapServers();
        full[args.length + 2] = "--outcomes-topic";
        full[args.length + 3] = topic;
        return CommandRun.of(new OutcomesCommand(clock), full);
    }

    @Test
    void byDefaultPrintsATableOfOutcomesSinceTheTimeThenTheSummary() {
        CommandRun run = outcomes("--since", "-1h");

        assertThat(run.exitCode()).as(run.err()).isZero();
        List<String> lines = run.out().lines().toList();
        assertThat(lines.get(0)).startsWith("FINISHED").contains("STATUS", "CODE", "CONTAINER", "LATENCY");
        assertThat(lines.subList(1, 5)).extracting(l -> l.split("\\s+")[5]).containsExactly("a-1", "a-2", "f-1", "s-1");
        assertThat(run.out()).doesNotContain("old-1")
                .contains("outcomes: 4\n")
                .containsPattern("applied\\s+2\n").containsPattern("failed\\s+1\n").containsPattern("skipped\\s+1\n")
                .containsPattern("RULES_REJECTED\\s+1\n").containsPattern("CONTAINER_NOT_FOUND\\s+1\n")
                .contains("latency ms (4 outcomes): p50 12  p95 300  p99 300  max 300")
                .contains("latest failures:\n  ").contains("RULES_REJECTED  worker-7/task-42/f-1: why f-1")
                .contains("1 record(s) were not outcome v1 JSON and are not counted");
    }

    @Test
    void statusFilterAndJsonPrintTheMatchingOutcomeDocumentsAsLines() throws Exception {
        CommandRun run = outcomes("--status", "failed", "--json");

        assertThat(run.exitCode()).isZero();
        List<String> lines = run.out().lines().toList();
        assertThat(lines).hasSize(1);
        assertThat(codec.decode(lines.get(0).getBytes(StandardCharsets.UTF_8)).containerId()).isEqualTo("f-1");
    }

    @Test
    void summaryAsJsonCountsEverythingRetainedWithoutSince() throws Exception {
        CommandRun run = outcomes("--summary", "--json");

        assertThat(run.exitCode()).isZero();
        JsonNode summary = new ObjectMapper().readTree(run.out());
        assertThat(summary.path("total").asInt()).isEqualTo(5);
        assertThat(summary.path("byStatus").path("applied").asInt()).isEqualTo(3);
        assertThat(summary.path("byErrorCode").path("RULES_REJECTED").asInt()).isEqualTo(1);
        assertThat(summary.path("latencyMs").path("p50").asLong()).isEqualTo(12);
        assertThat(summary.path("latestFailures").get(0).path("containerId").asText()).isEqualTo("f-1");
        assertThat(summary.path("unreadable").asInt()).isEqualTo(1);
    }

    @Test
    void followWithCountPrintsMatchingOutcomesFromSinceAndStops() {
        CommandRun run = outcomes("--follow", "--since", "-25m", "--count", "1", "--wait", "120s", "--status", "applied", "--json");

        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out().lines().toList()).hasSize(1).allSatisfy(line -> assertThat(line).contains("\"a-2\""));
    }

    @Test
    void followAsATablePrintsAHeaderAndOneRowPerOutcome() {
        CommandRun run = outcomes("--follow", "--since", "-35m", "--count", "2", "--wait", "120s", "--status", "applied");

        assertThat(run.exitCode()).isZero();
        List<String> lines = run.out().lines().toList();
        assertThat(lines).hasSize(3);
        assertThat(lines.get(0)).startsWith("FINISHED  STATUS  CODE");
        assertThat(lines.subList(1, 3)).allSatisfy(l -> assertThat(l).contains("  applied  -  worker-7  task-42  a-"));
    }

    @Test
    void followWithCountAndWaitFailsWithExitThreeWhenTooFewOutcomesArrive() {
        CommandRun run = outcomes("--follow", "--since", "-1h", "--status", "failed", "--count", "5", "--wait", "2s",
                "--json");

        assertThat(run.exitCode()).isEqualTo(3);
        assertThat(run.out().lines().toList()).hasSize(1);
        assertThat(run.err()).isEqualTo("netfence outcomes: error: only 1 of 5 outcome(s) arrived within 2s\n");
    }

    @Test
    void badArgumentsAreInvalidInputOrUsageErrors() {
        CommandRun badSince = outcomes("--since", "yesterday");
        CommandRun badStatus = outcomes("--status", "done");
        CommandRun followSummary = outcomes("--follow", "--summary");
        CommandRun countWithoutFollow = outcomes("--count", "1");
        CommandRun waitWithoutFollow = outcomes("--wait", "5s");

        assertThat(badSince.exitCode()).isEqualTo(1);
        assertThat(badSince.err()).startsWith("netfence outcomes: cannot read time 'yesterday': expected RFC 3339");
        assertThat(badStatus.exitCode()).isEqualTo(1);
        assertThat(badStatus.err()).isEqualTo("netfence outcomes: --status must be applied, failed, skipped or removed, was 'done'\n");
        assertThat(followSummary.exitCode()).isEqualTo(2);
        assertThat(followSummary.err()).contains("--follow and --summary cannot be combined");
        assertThat(countWithoutFollow.exitCode()).isEqualTo(2);
        assertThat(waitWithoutFollow.exitCode()).isEqualTo(2);
        assertThat(waitWithoutFollow.err()).contains("--count and --wait need --follow");
    }
}
