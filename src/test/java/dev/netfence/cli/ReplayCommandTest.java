package dev.netfence.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult.ErrorInfo;
import dev.netfence.core.ErrorCode;
import dev.netfence.event.Outcome;
import dev.netfence.event.OutcomeCodec;
import dev.netfence.event.ReplayHeaders;
import dev.netfence.kafka.testkit.TestKafka;
import dev.netfence.ops.EventReplayer;
import dev.netfence.testkit.KafkaLane;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

@KafkaLane
class ReplayCommandTest {

    private final Instant base = Instant.now().truncatedTo(ChronoUnit.SECONDS).minus(2, ChronoUnit.HOURS);
    private String topic;

    @BeforeEach
    void events() throws Exception {
        topic = TestKafka.uniqueTopic("events");
        TestKafka.createTopics(2, topic);
        try (KafkaProducer<byte[], byte[]> producer = TestKafka.producer()) {
            send(producer, 0, "worker-7", "task-1", "before-window", false);
            send(producer, 10, "worker-7", "task-1", "c-in-1", false);
            send(producer, 11, "worker-8", "task-1", "c-other-node", false);
            send(producer, 12, "worker-7", "task-2", "c-in-2", false);
            send(producer, 13, "worker-7", "task-1", "c-was-replayed", true);
            producer.send(new ProducerRecord<>(topic, null, at(14), bytes("worker-7"), bytes("{not json"))).get();
            send(producer, 30, "worker-7", "task-1", "after-window", false);
        }
    }

    private long at(int minutes) {
        return base.plus(minutes, ChronoUnit.MINUTES).toEpochMilli();
    }

    private void send(KafkaProducer<byte[], byte[]> producer, int minutes, String node, String task, String container,
                      boolean replay) throws Exception {
        String json = "{\"schemaVersion\":1,\"type\":\"container.started\",\"eventId\":\"ev-" + container
                + "\",\"occurredAt\":\"" + OutcomeCodec.INSTANT_FORMAT.format(Instant.ofEpochMilli(at(minutes)))
                + "\",\"nodeId\":\"" + node + "\",\"taskId\":\"" + task + "\",\"containerId\":\"" + container + "\"}";
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(topic, null, at(minutes), bytes(node), bytes(json));
        record.headers().add("traceparent", bytes("00-abc-def-01"));
        if (replay) {
            record.headers().add(ReplayHeaders.REPLAY, bytes("true"));
        }
        producer.send(record).get();
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private CommandRun replay(String... args) {
        String[] full = new String[args.length + 4];
        System.arraycopy(args, 0, full, 0, args.length);
        full[args.length] = "--bootstrap-servers";
        full[args.length + 1] = TestKafka.bootstrapServers();
        full[args.length + 2] = "--events-topic";
        full[args.length + 3] = topic;
        return CommandRun.of(new ReplayCommand(), full);
    }

    private String time(int minutes) {
        return Instant.ofEpochMilli(at(minutes)).toString();
    }

    @Test
    void dryRunListsTheMatchingEventsOfTheWindowAndPublishesNothing() {
        CommandRun run = replay("--from", time(5), "--to", time(20), "--node", "worker-7", "--dry-run");

        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).startsWith("dry run: replaying " + topic + " from " + time(5) + " to " + time(20)
                        + " (only node worker-7): ")
                .contains("  worker-7  task-1  c-in-1  ev-c-in-1\n")
                .contains("  worker-7  task-2  c-in-2  ev-c-in-2\n")
                .doesNotContain("before-window").doesNotContain("after-window").doesNotContain("c-other-node  ")
                .contains("would replay 2 matching events; scanned 5 records: 1 other node/task, 1 earlier replays, "
                        + "1 invalid");
        assertThat(TestKafka.readAll(topic)).hasSize(7);
    }

    @Test
    void replayRepublishesMatchingEventsWithTheReplayHeaderKeepingKeyValueAndHeaders() {
        CommandRun run = replay("--from", time(5), "--to", time(20), "--node", "worker-7", "--task", "task-1");

        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).contains("replayed 1 of 1 matching events; scanned 5 records: 2 other node/task");
        List<ConsumerRecord<byte[], byte[]>> all = TestKafka.readAll(topic);
        assertThat(all).hasSize(8);
        List<ConsumerRecord<byte[], byte[]>> replays = all.stream()
                .filter(r -> r.headers().lastHeader(ReplayHeaders.SOURCE) != null).toList();
        assertThat(replays).hasSize(1);
        ConsumerRecord<byte[], byte[]> replayed = replays.get(0);
        ConsumerRecord<byte[], byte[]> original = all.stream()
                .filter(r -> new String(r.value(), StandardCharsets.UTF_8).contains("\"c-in-1\"") && r != replayed)
                .findFirst().orElseThrow();
        assertThat(replayed.key()).isEqualTo(original.key());
        assertThat(replayed.value()).isEqualTo(original.value());
        assertThat(value(replayed.headers().lastHeader(ReplayHeaders.REPLAY))).isEqualTo("true");
        assertThat(value(replayed.headers().lastHeader(ReplayHeaders.SOURCE)))
                .isEqualTo(topic + "-" + original.partition() + "@" + original.offset());
        assertThat(value(replayed.headers().lastHeader("traceparent"))).isEqualTo("00-abc-def-01");
    }

    @Test
    void onlyFailedReplaysTheEventsWhoseNewestOutcomeFailedOrThatHaveNone() throws Exception {
        String outcomes = TestKafka.uniqueTopic("outcomes");
        TestKafka.createTopics(2, outcomes);
        try (KafkaProducer<byte[], byte[]> producer = TestKafka.producer()) {
            send(producer, 15, "worker-9", "task-3", "c-no-outcome", false); // never processed
            // c-in-1 failed, then a replay applied it: the newer outcome read first (partition 0) still wins
            outcome(producer, outcomes, 0, "ev-c-in-1", "c-in-1", "applied", 25);
            outcome(producer, outcomes, 1, "ev-c-in-1", "c-in-1", "failed", 10);
            // c-in-2 was applied, then failed on a re-apply
            outcome(producer, outcomes, 0, "ev-c-in-2", "c-in-2", "applied", 12);
            outcome(producer, outcomes, 1, "ev-c-in-2", "c-in-2", "failed", 26);
            // c-other-node failed (its policy missing), then the reconciler applied it once the policy was stored
            outcome(producer, outcomes, 1, "ev-c-other-node", "c-other-node", "failed", 15);
            outcome(producer, outcomes, 0, null, "c-other-node", "applied", 28);
            producer.send(new ProducerRecord<>(outcomes, 1, at(27), null, bytes("{not json"))).get();
        }

        CommandRun run = replay("--from", time(5), "--to", time(20), "--only-failed", "--dry-run",
                "--outcomes-topic", outcomes);

        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out())
                .contains("outcomes of 3 events read from " + outcomes + " (1 unreadable records): replaying only"
                        + " those whose newest outcome failed (and whose container has no later one that did not),"
                        + " or that have none\n")
                .contains("  worker-7  task-2  c-in-2  ev-c-in-2\n")
                .contains("  worker-9  task-3  c-no-outcome  ev-c-no-outcome\n")
                .doesNotContain("ev-c-in-1").doesNotContain("ev-c-other-node")
                .contains("would replay 2 matching events; scanned 6 records: 0 other node/task, 1 earlier replays, "
                        + "1 invalid, 2 not failed");
        assertThat(TestKafka.readAll(topic)).as("a dry run").hasSize(8);
    }

    /**
     * Review 200: the newest outcome was taken by {@code finishedAt}, so after a wall-clock step
     * back an older failure outranked the success written after it on the same partition, and a
     * healthy container was re-driven (its connections flushed again).
     */
    @Test
    void onlyFailedTakesTheLaterOffsetOfOnePartitionForTheNewerWhateverTheClocksSaid() throws Exception {
        String outcomes = TestKafka.uniqueTopic("outcomes");
        TestKafka.createTopics(2, outcomes);
        try (KafkaProducer<byte[], byte[]> producer = TestKafka.producer()) {
            outcome(producer, outcomes, 0, "ev-c-in-1", "c-in-1", "failed", 25);
            outcome(producer, outcomes, 0, "ev-c-in-1", "c-in-1", "applied", 12); // after the clock stepped back
            outcome(producer, outcomes, 1, "ev-c-in-2", "c-in-2", "applied", 25);
            outcome(producer, outcomes, 1, "ev-c-in-2", "c-in-2", "failed", 12);
        }

        CommandRun run = replay("--from", time(5), "--to", time(20), "--node", "worker-7", "--only-failed", "--dry-run",
                "--outcomes-topic", outcomes);

        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).contains("  worker-7  task-2  c-in-2  ev-c-in-2\n").doesNotContain("ev-c-in-1");
    }

    private void outcome(KafkaProducer<byte[], byte[]> producer, String outcomes, int partition, String eventId,
                         String container, String status, int finishedMinute) throws Exception {
        Instant finished = Instant.ofEpochMilli(at(finishedMinute));
        Outcome outcome = new Outcome(1, eventId, "task-1", container, "worker-7", status, null, "bridge",
                "nft", List.of("ipv4"), 3, null, null, false, 1,
                "failed".equals(status) ? ErrorInfo.of(ErrorCode.RULES_REJECTED, "why") : null,
                finished.minusMillis(5), finished, 5L, false, eventId == null ? "policy-update" : "start",
                new Outcome.EnforcerInfo("worker-7/1", "0.1.0"));
        producer.send(new ProducerRecord<>(outcomes, partition, at(finishedMinute), bytes(container),
                new OutcomeCodec().encode(outcome))).get();
    }

    @Test
    void replayingUpToNowSkipsRecordsThatAreThemselvesReplays() {
        CommandRun first = replay("--from", time(5), "--task", "task-2");
        CommandRun second = replay("--from", time(5), "--task", "task-2");

        assertThat(first.exitCode()).isZero();
        assertThat(first.out()).contains("replayed 1 of 1 matching events; scanned 6 records");
        assertThat(second.exitCode()).isZero();
        assertThat(second.out()).contains("replayed 1 of 1 matching events; scanned 7 records: 3 other node/task, "
                + "2 earlier replays");
        assertThat(TestKafka.readAll(topic)).hasSize(9);
    }

    @Test
    void aWindowThatIsEmptyOrBackwardsIsHandledClearly() {
        CommandRun empty = replay("--from", time(40), "--to", time(50));
        CommandRun backwards = replay("--from", time(20), "--to", time(10));
        CommandRun missingFrom = CommandRun.of(new ReplayCommand(), "--dry-run");

        assertThat(empty.exitCode()).isZero();
        assertThat(empty.out()).contains(": 0 offsets in 2 partitions").contains("replayed 0 of 0 matching events");
        assertThat(backwards.exitCode()).isEqualTo(1);
        assertThat(backwards.err()).isEqualTo("netfence replay: --from (" + time(20) + ") must be before --to ("
                + time(10) + ")\n");
        assertThat(missingFrom.exitCode()).isEqualTo(2);
        assertThat(missingFrom.err()).contains("Missing required option: '--from=TIME'");
    }

    @Test
    void aMissingTopicIsInvalidInputAndStaysMissingOnABrokerThatCreatesTopicsOnUse() throws Exception {
        for (int attempt = 0; attempt < 2; attempt++) { // helper 181: the first look created it, the second found it empty
            CommandRun run = CommandRun.of(new ReplayCommand(), "--from", "-1h", "--events-topic",
                    "no-such-topic-" + topic, "--bootstrap-servers", TestKafka.bootstrapServers(), "--timeout", "5s");

            assertThat(run.exitCode()).isEqualTo(1);
            assertThat(run.err()).isEqualTo("netfence replay: topic no-such-topic-" + topic + " does not exist\n");
        }
        // --only-failed with a mistyped outcomes topic: the retry must not find it empty and replay every event
        for (int attempt = 0; attempt < 2; attempt++) {
            CommandRun run = replay("--from", time(5), "--to", time(20), "--only-failed", "--dry-run",
                    "--outcomes-topic", "no-such-outcomes-" + topic);

            assertThat(run.exitCode()).isEqualTo(1);
            assertThat(run.err()).contains("no-such-outcomes-" + topic + " does not exist");
        }
        try (org.apache.kafka.clients.admin.Admin admin = TestKafka.admin()) {
            assertThat(admin.listTopics().names().get(30, java.util.concurrent.TimeUnit.SECONDS))
                    .doesNotContain("no-such-topic-" + topic, "no-such-outcomes-" + topic);
        }
    }

    private static String value(Header header) {
        return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }
}
