package dev.netfence.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.netfence.ops.TopicRange;
import dev.netfence.policy.NetworkMode;
import dev.netfence.policy.PolicyParser;
import dev.netfence.policy.PolicyValidationException;
import dev.netfence.policy.store.RecordOrder;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import dev.netfence.kafka.TopicSetup;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code netfence policy put|get|delete|list}: manages the compacted {@code sandbox.policies}
 * topic (key = task id, value = policy JSON, tombstone = delete). {@code put} refuses a policy
 * the service would refuse (validated with {@link PolicyParser}) so mistakes surface at the
 * operator's terminal, not as INVALID_POLICY outcomes. {@code get} and {@code list} read the
 * topic from the beginning to its current end and keep the latest value per task.
 */
@Command(name = "policy", mixinStandardHelpOptions = true,
        description = "Manage sandbox policies on the compacted policies topic.",
        footerHeading = "%nExamples:%n",
        footer = {
                "  netfence policy put task-42 policy.json",
                "  netfence policy get task-42",
                "  netfence policy list",
                "  netfence policy delete task-42",
                "",
                "Exit codes: 0 ok, 1 invalid policy or unknown task, 2 usage, 3 Kafka failure."})
public final class PolicyCommand {

    private static final Pattern TASK_ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");
    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    @Spec
    CommandSpec spec;

    private final Consumer<byte[]> validator;

    public PolicyCommand() {
        this(json -> new PolicyParser().parse(json));
    }

    /** @param validator throws {@link PolicyValidationException} for a policy the service refuses */
    PolicyCommand(Consumer<byte[]> validator) {
        this.validator = validator;
    }

    @Command(name = "put", mixinStandardHelpOptions = true, description = "Validate a policy file and store it for TASK "
            + "(also on any other partition that holds a record of TASK: one left there when partitions were added).",
            footer = {"%nExample: netfence policy put task-42 policy.json   (FILE '-' reads stdin)"})
    int put(@Mixin OpsOptions ops,
            @Parameters(index = "0", paramLabel = "TASK") String task,
            @Parameters(index = "1", paramLabel = "FILE") String file) {
        return ops.execute(() -> {
            checkTask(task);
            byte[] policy = read(file);
            try {
                validator.accept(policy);
            } catch (PolicyValidationException e) {
                throw new InvalidInputException("policy " + file + " is invalid: " + String.join("; ", e.reasons()), e);
            }
            new TopicSetup(ops.producerConfig()).ensure(List.of(), List.of(ops.policiesTopic())).expiring()
                    .forEach(problem -> ops.spec.commandLine().getErr().println("warning: " + problem));
            // a policy the task left on a former partition (partitions were added) whose timestamp is later than this
            // one's (a writer's clock ahead) would be taken for the newer by every reader that weighs two partitions
            // (a restarted node, policy get): the same policy goes there first, the later offset of its partition
            // (review 200 #3); a tombstone there would not do, as a reader that takes that partition's old policy
            // first and this one second keeps the old one, then takes the tombstone for a deletion. So also where
            // that partition's last record is a tombstone: its policy before may still be there, uncompacted
            java.util.Set<Integer> holding = lastRecords(ops, task).keySet();
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(ops.producerConfig())) {
                int home = dev.netfence.kafka.NodeRouting.partitionFor(task,
                        producer.partitionsFor(ops.policiesTopic()).size()); // where the default partitioner puts it
                int others = 0;
                for (int p : holding) {
                    if (p != home) {
                        producer.send(new ProducerRecord<>(ops.policiesTopic(), p, key(task), policy)).get();
                        others++;
                    }
                }
                RecordMetadata at = producer.send(new ProducerRecord<>(ops.policiesTopic(), key(task), policy)).get();
                out(ops).println("stored policy for " + task + " at " + at.topic() + "-" + at.partition() + "@" + at.offset()
                        + (others == 0 ? "" : " (and on " + others + " other partition(s) that held a record of it)"));
                new PolicyParser().notes(policy).forEach(n -> ops.spec.commandLine().getErr().println("note: " + n));
            }
            return Main.OK;
        });
    }

    @Command(name = "get", mixinStandardHelpOptions = true, description = "Print the policy stored for TASK.",
            footer = {"%nExample: netfence policy get task-42 > policy.json"})
    int get(@Mixin OpsOptions ops, @Parameters(index = "0", paramLabel = "TASK") String task) {
        return ops.execute(() -> {
            checkTask(task);
            ConsumerRecord<byte[], byte[]> latest = latest(ops).get(task);
            if (latest == null || latest.value() == null) {
                throw new InvalidInputException("no policy stored for task " + task);
            }
            out(ops).println(new String(latest.value(), StandardCharsets.UTF_8).strip());
            return Main.OK;
        });
    }

    @Command(name = "delete", mixinStandardHelpOptions = true,
            description = "Delete the policy of TASK (writes a tombstone, also on any other partition that holds a "
                    + "policy of TASK: one left there when partitions were added).",
            footer = {"%nExample: netfence policy delete task-42"})
    int delete(@Mixin OpsOptions ops, @Parameters(index = "0", paramLabel = "TASK") String task,
            @Option(names = "--force", description = "Write the tombstone also when no policy of TASK is stored "
                    + "(else that is an error, exit 1: a mistyped task id would look deleted).") boolean force) {
        return ops.execute(() -> {
            checkTask(task);
            // a policy the task left on a former partition (partitions were added) must not outlive this deletion
            // once compaction drops the tombstone on its current one; partitions that hold none get none, so a
            // later put is never weighed against a tombstone's timestamp there
            java.util.Set<Integer> holding = partitionsHolding(ops, task);
            if (holding.isEmpty() && !force) {
                throw new InvalidInputException("no policy stored for task " + task + "; nothing deleted (--force"
                        + " writes the tombstone anyway)");
            }
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(ops.producerConfig())) {
                int home = dev.netfence.kafka.NodeRouting.partitionFor(task,
                        producer.partitionsFor(ops.policiesTopic()).size()); // where the default partitioner puts it
                int others = 0;
                for (int p : holding) { // the leftovers first, the task's own tombstone last
                    if (p != home) {
                        producer.send(new ProducerRecord<>(ops.policiesTopic(), p, key(task), null)).get();
                        others++;
                    }
                }
                RecordMetadata at = producer.send(new ProducerRecord<>(ops.policiesTopic(), key(task), null)).get();
                out(ops).println("deleted policy for " + task + " (tombstone at " + at.topic() + "-" + at.partition()
                        + "@" + at.offset() + (others == 0 ? "" : ", and on " + others
                        + " other partition(s) that held a policy of it") + ")");
            }
            return Main.OK;
        });
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the tasks that have a policy.",
            footer = {"%nExample: netfence policy list --bootstrap-servers kafka:9092"})
    int list(@Mixin OpsOptions ops) {
        return ops.execute(() -> {
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"TASK", "POLICY", "UPDATED", "BYTES"});
            PolicyParser parser = new PolicyParser();
            latest(ops).forEach((task, record) -> {
                if (record.value() != null) {
                    rows.add(new String[] {task, kind(parser, record.value()), TIME.format(Instant.ofEpochMilli(record.timestamp())),
                            String.valueOf(record.value().length)});
                }
            });
            PrintWriter out = out(ops);
            if (rows.size() == 1) {
                out.println("no policies stored on " + ops.policiesTopic());
            } else {
                out.print(align(rows));
            }
            return Main.OK;
        });
    }

    /** The partitions whose last record of {@code task} is a policy (not a tombstone). */
    private static java.util.Set<Integer> partitionsHolding(OpsOptions ops, String task) {
        java.util.Set<Integer> holding = new java.util.TreeSet<>();
        lastRecords(ops, task).forEach((p, policy) -> {
            if (policy) {
                holding.add(p);
            }
        });
        return holding;
    }

    /** Each partition that holds a record of {@code task}: whether its last one is a policy (else a tombstone). */
    private static Map<Integer, Boolean> lastRecords(OpsOptions ops, String task) {
        Map<Integer, Boolean> last = new TreeMap<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(ops.consumerConfig())) {
            TopicRange range = TopicRange.between(consumer, ops.policiesTopic(), null, null, ops.timeout());
            range.read(consumer, ops.timeout(), record -> {
                if (record.key() != null && task.equals(new String(record.key(), StandardCharsets.UTF_8))) {
                    last.put(record.partition(), record.value() != null);
                }
            });
        }
        return last;
    }

    /**
     * Each task's record in force, by the store's own rule: of each partition's last record of the
     * task, the newest ({@link RecordOrder}), whatever order the partitions are read in (an old
     * partition's leftover loses, and so does a record after it there, a tombstone, that is older
     * than the task's record on its new partition).
     */
    private Map<String, ConsumerRecord<byte[], byte[]>> latest(OpsOptions ops) {
        Map<String, Map<Integer, ConsumerRecord<byte[], byte[]>>> last = new TreeMap<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(ops.consumerConfig())) {
            TopicRange range = TopicRange.between(consumer, ops.policiesTopic(), null, null, ops.timeout());
            range.read(consumer, ops.timeout(), record -> {
                if (record.key() != null) {
                    last.computeIfAbsent(new String(record.key(), StandardCharsets.UTF_8), k -> new TreeMap<>())
                            .put(record.partition(), record);
                }
            });
        }
        Map<String, ConsumerRecord<byte[], byte[]>> latest = new TreeMap<>();
        last.forEach((task, byPartition) -> latest.put(task, byPartition.values().stream().reduce((was, next) ->
                RecordOrder.replaces(was.partition(), was.timestamp(), next.partition(), next.timestamp()) ? next : was)
                .orElseThrow()));
        return latest;
    }

    /**
     * What {@code policy list} shows of a stored policy: its preset or mode, or, for one netfence
     * refuses ({@link PolicyParser}: a field named twice, say, stored before it was refused), that
     * it is invalid and why, so that an operator finds what a resync would quarantine.
     */
    private static String kind(PolicyParser parser, byte[] value) {
        try {
            parser.parse(value);
        } catch (PolicyValidationException invalid) {
            return "INVALID: " + invalid.reasons().get(0);
        }
        try {
            JsonNode policy = new ObjectMapper().readTree(value);
            if (policy.hasNonNull("preset")) {
                return "preset " + policy.get("preset").asText();
            }
            return "mode " + policy.path("mode").asText(NetworkMode.NONE.wire()); // PolicyParser's default
        } catch (IOException e) {
            return "(not JSON)";
        }
    }

    private static void checkTask(String task) {
        if (!TASK_ID.matcher(task).matches()) {
            throw new InvalidInputException("task id '" + task + "' must match [A-Za-z0-9._:-]{1,128}");
        }
    }

    private byte[] read(String file) {
        try {
            return "-".equals(file) ? System.in.readAllBytes() : Files.readAllBytes(Path.of(file));
        } catch (NoSuchFileException e) {
            throw new InvalidInputException("policy file " + file + " does not exist");
        } catch (IOException e) {
            throw new InvalidInputException("cannot read policy file " + file + ": " + e.getMessage());
        }
    }

    private static byte[] key(String task) {
        return task.getBytes(StandardCharsets.UTF_8);
    }

    private static PrintWriter out(OpsOptions ops) {
        return ops.spec.commandLine().getOut();
    }

    private static String align(List<String[]> rows) {
        int[] widths = new int[rows.get(0).length];
        rows.forEach(r -> {
            for (int i = 0; i < r.length; i++) {
                widths[i] = Math.max(widths[i], r[i].length());
            }
        });
        StringBuilder text = new StringBuilder();
        for (String[] r : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < r.length; i++) {
                line.append(r[i]).append(" ".repeat(widths[i] - r[i].length() + 2));
            }
            text.append(line.toString().stripTrailing()).append('\n');
        }
        return text.toString();
    }
}
