package dev.netfence.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.kafka.testkit.TestKafka;
import dev.netfence.testkit.KafkaLane;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

@KafkaLane
class PolicyCommandTest {

    private static final String POLICY = """
            {"schemaVersion": 1, "mode": "bridge", "allowedEndpoints": ["198.51.100.7:443"], "outbound": false}
            """;

    private String topic;
    private Path dir;

    @BeforeEach
    void topic() {
        topic = TestKafka.uniqueTopic("policies");
        TestKafka.createCompactedTopic(topic, 2);
        dir = TestKafka.tempDir("policy-cli");
    }

    private CommandRun policy(String... args) {
        String[] full = new String[args.length + 4];
        System.arraycopy(args, 0, full, 0, args.length);
        full[args.length] = "--bootstrap-servers";
        full[args.length + 1] = TestKafka.bootstrapServers();
        full[args.length + 2] = "--policies-topic";
        full[args.length + 3] = topic;
        return CommandRun.of(new PolicyCommand(), full);
    }

    private Path file(String name, String content) throws Exception {
        Path path = dir.resolve(name);
        Files.writeString(path, content);
        return path;
    }

    @Test
    void putStoresTheValidatedPolicyKeyedByTaskAndGetAndListShowIt() throws Exception {
        CommandRun put = policy("put", "task-42", file("p.json", POLICY).toString());
        CommandRun put2 = policy("put", "task-7", file("p2.json", "{\"schemaVersion\": 1, \"preset\": \"default\"}").toString());
        CommandRun get = policy("get", "task-42");
        CommandRun list = policy("list");

        assertThat(put.exitCode()).as(put.err()).isZero();
        assertThat(put.out()).startsWith("stored policy for task-42 at " + topic + "-");
        assertThat(put.err()).as("outbound written: nothing to note").isEmpty();
        assertThat(put2.exitCode()).isZero();
        List<ConsumerRecord<byte[], byte[]>> records = TestKafka.readAll(topic);
        assertThat(records).extracting(r -> new String(r.key(), StandardCharsets.UTF_8)).containsExactlyInAnyOrder("task-42", "task-7");
        assertThat(get.exitCode()).isZero();
        assertThat(get.out()).isEqualTo(POLICY.strip() + "\n");
        assertThat(list.exitCode()).isZero();
        assertThat(list.out().lines().toList()).hasSize(3);
        assertThat(list.out().lines().toList().get(0)).matches("TASK\\s+POLICY\\s+UPDATED\\s+BYTES");
        assertThat(list.out()).containsPattern("task-42\\s+mode bridge\\s+\\d{4}-\\d\\d-\\d\\dT")
                .containsPattern("task-7\\s+preset default\\s+");
    }

    @Test
    void listShowsModeNoneForAPolicyThatOmitsTheModeAsTheParserDefaultsItToNone() throws Exception {
        CommandRun put = policy("put", "task-5", file("p.json", "{\"schemaVersion\": 1}").toString());
        CommandRun list = policy("list");

        assertThat(put.exitCode()).as(put.err()).isZero();
        assertThat(list.exitCode()).isZero();
        assertThat(list.out()).containsPattern("task-5\\s+mode none\\s+");
    }

    @Test
    void listShowsAStoredPolicyNetfenceRefusesAsInvalidWithItsReasonSoAnOperatorFindsItBeforeAResyncQuarantines()
            throws Exception {
        byte[] twice = ("{\"schemaVersion\": 1, \"mode\": \"bridge\", \"allowedEndpoints\": [\"198.51.100.7:443\"],"
                + " \"outbound\": false, \"outbound\": true}").getBytes(StandardCharsets.UTF_8);
        try (var producer = TestKafka.producer()) { // as a netfence that took a field named twice stored it
            producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic,
                    "task-3".getBytes(StandardCharsets.UTF_8), twice)).get();
        }
        CommandRun list = policy("list");

        assertThat(list.exitCode()).isZero();
        assertThat(list.out()).containsPattern("task-3\\s+INVALID: policy is not valid JSON: Duplicate field 'outbound'");
        assertThat(policy("put", "task-3", file("p.json", new String(twice, StandardCharsets.UTF_8)).toString()).exitCode())
                .as("put refuses it").isNotZero();
    }

    @Test
    void putStoresAPolicyWhoseEndpointsTurnedOutboundOnAndNotesIt() throws Exception {
        CommandRun put = policy("put", "task-9", file("p.json",
                "{\"schemaVersion\": 1, \"mode\": \"bridge\", \"allowedEndpoints\": [\"198.51.100.7:443\"]}").toString());

        assertThat(put.exitCode()).as(put.err()).isZero();
        assertThat(put.err()).isEqualTo("note: " + dev.netfence.policy.PolicyParser.DERIVED_OUTBOUND_NOTE + "\n");
    }

    @Test
    void putIntoAPoliciesTopicThatDeletesAfterARetentionTimeStoresAndWarns() throws Exception {
        topic = TestKafka.uniqueTopic("policies-deleting");
        TestKafka.createTopics(1, topic);

        CommandRun put = policy("put", "task-42", file("p.json", POLICY).toString());

        assertThat(put.exitCode()).as(put.err()).isZero();
        assertThat(put.out()).startsWith("stored policy for task-42 at " + topic + "-");
        assertThat(put.err()).startsWith("warning: topic " + topic + " has cleanup.policy=delete with retention.ms=")
                .contains("set cleanup.policy=compact");
    }

    @Test
    void deleteWritesATombstoneSoGetFailsWithExitOneAndListOmitsTheTask() throws Exception {
        policy("put", "task-42", file("p.json", POLICY).toString());

        CommandRun delete = policy("delete", "task-42");
        CommandRun get = policy("get", "task-42");
        CommandRun list = policy("list");

        assertThat(delete.exitCode()).isZero();
        assertThat(delete.out()).startsWith("deleted policy for task-42 (tombstone at " + topic).endsWith(")\n")
                .doesNotContain("other partition");
        assertThat(TestKafka.readAll(topic)).filteredOn(r -> r.value() == null)
                .as("one tombstone: no other partition held a policy of the task").hasSize(1);
        assertThat(get.exitCode()).isEqualTo(1);
        assertThat(get.err()).isEqualTo("netfence policy get: no policy stored for task task-42\n");
        assertThat(list.out()).isEqualTo("no policies stored on " + topic + "\n");
    }

    @Test
    void deletingATaskWithoutAPolicyFailsWithExitOneUnlessForced() throws Exception {
        policy("put", "task-42", file("p.json", POLICY).toString());

        CommandRun typo = policy("delete", "task-24");
        CommandRun forced = policy("delete", "task-24", "--force");

        assertThat(typo.exitCode()).isEqualTo(1);
        assertThat(typo.err()).isEqualTo("netfence policy delete: no policy stored for task task-24; nothing deleted"
                + " (--force writes the tombstone anyway)\n");
        assertThat(forced.exitCode()).as(forced.err()).isZero();
        assertThat(TestKafka.readAll(topic)).filteredOn(r -> r.value() == null).as("the forced tombstone only")
                .hasSize(1);
        assertThat(policy("get", "task-42").exitCode()).as("the other task's policy stays").isZero();
    }

    @Test
    void getAndListShowTheNewerRecordOfATaskOnTwoPartitionsWhicheverIsReadLast() throws Exception {
        long now = System.currentTimeMillis();
        try (var p = TestKafka.producer()) {
            for (int newer : new int[] {0, 1}) {
                byte[] key = ("task-p" + newer).getBytes(StandardCharsets.UTF_8);
                p.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, 1 - newer, now - 60_000, key,
                        "{\"schemaVersion\": 1, \"preset\": \"default\"}".getBytes(StandardCharsets.UTF_8))).get();
                p.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, newer, now, key,
                        POLICY.getBytes(StandardCharsets.UTF_8))).get();
            }
        }

        for (String task : List.of("task-p0", "task-p1")) {
            CommandRun get = policy("get", task);
            assertThat(get.out()).as(task).isEqualTo(POLICY.strip() + "\n");
        }
        assertThat(policy("list").out()).containsPattern("task-p0\\s+mode bridge").containsPattern("task-p1\\s+mode bridge");
    }

    @Test
    void getShowsThePolicyOnTheNewPartitionThoughTheOldOneEndsWithATombstoneAfterAPolicyStampedAhead()
            throws Exception {
        // record by record, the old policy stamped an hour ahead replaced the newer one when that was read first, and
        // the tombstone after it on its partition then deleted the task: each partition's last record decides
        long now = System.currentTimeMillis();
        try (var p = TestKafka.producer()) {
            for (int newer : new int[] {0, 1}) {
                byte[] key = ("task-t" + newer).getBytes(StandardCharsets.UTF_8);
                p.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, 1 - newer, now + 3_600_000, key,
                        "{\"schemaVersion\": 1, \"preset\": \"default\"}".getBytes(StandardCharsets.UTF_8))).get();
                p.send(new org.apache.kafka.clients.producer.ProducerRecord<byte[], byte[]>(topic, 1 - newer,
                        now - 60_000, key, null)).get();
                p.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, newer, now, key,
                        POLICY.getBytes(StandardCharsets.UTF_8))).get();
            }
        }

        for (String task : List.of("task-t0", "task-t1")) {
            CommandRun get = policy("get", task);
            assertThat(get.exitCode()).as(task + ": " + get.err()).isZero();
            assertThat(get.out()).as(task).isEqualTo(POLICY.strip() + "\n");
        }
    }

    @Test
    void deleteAlsoTombstonesAPolicyTheTaskLeftOnAnotherPartitionSoItCannotOutliveTheDeletion() throws Exception {
        policy("put", "task-42", file("p.json", POLICY).toString());
        int home = dev.netfence.kafka.NodeRouting.partitionFor("task-42", 2);
        try (var p = TestKafka.producer()) { // as if left there before partitions were added
            p.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, 1 - home, "task-42".getBytes(
                    StandardCharsets.UTF_8), POLICY.getBytes(StandardCharsets.UTF_8))).get();
        }

        CommandRun delete = policy("delete", "task-42");

        assertThat(delete.out()).endsWith(", and on 1 other partition(s) that held a policy of it)\n");
        assertThat(TestKafka.readAll(topic)).filteredOn(r -> r.value() == null).extracting(ConsumerRecord::partition)
                .containsExactlyInAnyOrder(0, 1);
        assertThat(policy("get", "task-42").exitCode()).isEqualTo(1);
    }

    /**
     * Review 200 #3: a policy the task left on its former partition, stamped by a clock an hour
     * ahead, was taken for newer than a later put on its new partition by {@code policy get} at
     * once and by every node at its next start.
     */
    @Test
    void putAlsoStoresThePolicyOnAnotherPartitionThatHoldsOneOfTheTaskSoAnAheadTimestampThereCannotWin()
            throws Exception {
        int home = dev.netfence.kafka.NodeRouting.partitionFor("task-42", 2);
        try (var p = TestKafka.producer()) { // left there before partitions were added, by a clock an hour ahead
            p.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, 1 - home,
                    System.currentTimeMillis() + 3_600_000L, "task-42".getBytes(StandardCharsets.UTF_8),
                    "{\"schemaVersion\": 1, \"preset\": \"default\"}".getBytes(StandardCharsets.UTF_8))).get();
        }

        CommandRun put = policy("put", "task-42", file("p.json", POLICY).toString());

        assertThat(put.exitCode()).as(put.err()).isZero();
        assertThat(put.out()).startsWith("stored policy for task-42 at " + topic + "-" + home + "@")
                .endsWith(" (and on 1 other partition(s) that held a record of it)\n");
        assertThat(policy("get", "task-42").out()).isEqualTo(POLICY.strip() + "\n");
        List<ConsumerRecord<byte[], byte[]>> last = TestKafka.readAll(topic);
        assertThat(last).filteredOn(r -> r.partition() == 1 - home).last()
                .satisfies(r -> assertThat(new String(r.value(), StandardCharsets.UTF_8)).isEqualTo(POLICY));
        var store = new java.util.HashMap<String, ConsumerRecord<byte[], byte[]>>();
        for (boolean leftoverFirst : new boolean[] {true, false}) { // what a restarted node's read decides, either order
            store.clear();
            last.stream().sorted(java.util.Comparator.comparingInt(r -> (r.partition() == home) == leftoverFirst ? 1 : 0))
                    .forEach(r -> store.merge("task-42", r, (was, next) -> dev.netfence.policy.store.RecordOrder.replaces(
                            was.partition(), was.timestamp(), next.partition(), next.timestamp()) ? next : was));
            assertThat(new String(store.get("task-42").value(), StandardCharsets.UTF_8)).as("leftover first: %s",
                    leftoverFirst).isEqualTo(POLICY);
        }
    }

    /** The old policy may still be there before the tombstone (not compacted yet), and win for a reader that weighs both. */
    @Test
    void putAlsoStoresThePolicyOnAnotherPartitionWhoseLastRecordOfTheTaskIsATombstone() throws Exception {
        int home = dev.netfence.kafka.NodeRouting.partitionFor("task-42", 2);
        long ahead = System.currentTimeMillis() + 3_600_000L;
        try (var p = TestKafka.producer()) {
            byte[] key = "task-42".getBytes(StandardCharsets.UTF_8);
            p.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, 1 - home, ahead, key,
                    "{\"schemaVersion\": 1, \"preset\": \"default\"}".getBytes(StandardCharsets.UTF_8))).get();
            p.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, 1 - home, key, (byte[]) null)).get();
        }

        CommandRun put = policy("put", "task-42", file("p.json", POLICY).toString());

        assertThat(put.out()).endsWith(" (and on 1 other partition(s) that held a record of it)\n");
        assertThat(TestKafka.readAll(topic)).filteredOn(r -> r.partition() == 1 - home).last()
                .satisfies(r -> assertThat(new String(r.value(), StandardCharsets.UTF_8)).isEqualTo(POLICY));
        assertThat(policy("get", "task-42").out()).isEqualTo(POLICY.strip() + "\n");
    }

    @Test
    void aPutWithNoOtherPartitionHoldingThePolicyWritesOneRecord() throws Exception {
        CommandRun put = policy("put", "task-42", file("p.json", POLICY).toString());

        assertThat(put.out()).doesNotContain("other partition");
        assertThat(TestKafka.readAll(topic)).hasSize(1);
    }

    @Test
    void putRefusesAPolicyTheServiceWouldRefuseAndStoresNothing() throws Exception {
        CommandRun put = policy("put", "task-42",
                file("host.json", "{\"schemaVersion\": 1, \"mode\": \"host\"}").toString());

        assertThat(put.exitCode()).isEqualTo(1);
        assertThat(put.err()).startsWith("netfence policy put: policy ").contains("host.json is invalid: ").doesNotContain("\tat ");
        assertThat(put.err().lines()).hasSize(1);
        assertThat(TestKafka.readAll(topic)).isEmpty();
    }

    @Test
    void aMissingFileOrABadTaskIdIsInvalidInput() {
        CommandRun missing = policy("put", "task-42", dir.resolve("nope.json").toString());
        CommandRun badTask = policy("get", "task 42!");

        assertThat(missing.exitCode()).isEqualTo(1);
        assertThat(missing.err()).isEqualTo("netfence policy put: policy file " + dir.resolve("nope.json") + " does not exist\n");
        assertThat(badTask.exitCode()).isEqualTo(1);
        assertThat(badTask.err()).isEqualTo("netfence policy get: task id 'task 42!' must match [A-Za-z0-9._:-]{1,128}\n");
    }

    @Test
    void withoutASubcommandOrWithAnUnknownOptionItIsAUsageError() {
        CommandRun none = CommandRun.of(new PolicyCommand());
        CommandRun unknown = CommandRun.of(new PolicyCommand(), "list", "--frobnicate");

        assertThat(none.exitCode()).isEqualTo(2);
        assertThat(none.err()).contains("Missing required subcommand");
        assertThat(unknown.exitCode()).isEqualTo(2);
        assertThat(unknown.err()).contains("Unknown option: '--frobnicate'");
    }

    @Test
    void anUnreachableBrokerIsARuntimeFailureInOneLine() {
        CommandRun list = CommandRun.of(new PolicyCommand(), "list", "--bootstrap-servers", "127.0.0.1:1", "--timeout", "2s");

        assertThat(list.exitCode()).isEqualTo(3);
        assertThat(list.err()).startsWith("netfence policy list: error: Kafka at 127.0.0.1:1 did not answer within 2s");
        assertThat(list.err().lines()).hasSize(1);
    }

    @Test
    void helpShowsExamplesAndTheCommonOptions() {
        CommandRun help = CommandRun.of(new PolicyCommand(), "put", "--help");
        CommandRun parentHelp = CommandRun.of(new PolicyCommand(), "--help");

        assertThat(help.exitCode()).isZero();
        assertThat(help.out()).contains("--bootstrap-servers", "--policies-topic", "netfence policy put task-42 policy.json");
        assertThat(parentHelp.out()).contains("Examples:", "netfence policy list");
    }

    @Test
    void listingOrForceDeletingOnAMissingPoliciesTopicFailsAndLeavesItMissing() throws Exception {
        String missing = "no-such-policies-" + topic;
        for (String[] args : List.of(new String[] {"list"}, new String[] {"delete", "task-42", "--force"},
                new String[] {"list"})) {
            String[] full = java.util.stream.Stream.concat(java.util.Arrays.stream(args), java.util.stream.Stream.of(
                    "--bootstrap-servers", TestKafka.bootstrapServers(), "--policies-topic", missing, "--timeout", "5s"))
                    .toArray(String[]::new);
            CommandRun run = CommandRun.of(new PolicyCommand(), full);

            assertThat(run.exitCode()).as(String.join(" ", args)).isEqualTo(1);
            assertThat(run.err()).contains(missing + " does not exist");
        }
        try (org.apache.kafka.clients.admin.Admin admin = TestKafka.admin()) {
            assertThat(admin.listTopics().names().get(30, java.util.concurrent.TimeUnit.SECONDS)).doesNotContain(missing);
        }
    }
}
