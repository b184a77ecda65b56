package dev.netfence.kafka.testkit;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.time.Duration;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The Kafka chores {@code scripts/chaos.sh} cannot do with the netfence CLI alone, as a tiny
 * command line on the test classpath. {@code publish BOOTSTRAP TOPIC} sends stdin's
 * {@code KEY<TAB>VALUE} lines in order with an idempotent {@code acks=all} producer and exits 0
 * only when the broker acknowledged every one (the chaos script needs its own event ids, which
 * {@code netfence publish} does not take, and one JVM for a whole wave instead of one per event).
 * {@code lag BOOTSTRAP GROUP TOPIC} prints {@code committed=C end=E} summed over the topic's
 * partitions, so the script can wait until the consumer group has committed everything before it
 * reads the final rules. The faults: {@code oversized} publishes one huge non-JSON value,
 * {@code topic-config} changes a topic setting, {@code dead-letters} lists the committed dead letters.
 * Failures are one line on stderr and exit 3.
 */
public final class ScriptKafka {
    private ScriptKafka() {
    }

    public static void main(String[] args) {
        try {
            if (args.length == 3 && args[0].equals("publish")) {
                publish(args[1], args[2]);
            } else if (args.length == 4 && args[0].equals("lag")) {
                lag(args[1], args[2], args[3]);
            } else if (args.length == 5 && args[0].equals("oversized")) {
                oversized(args[1], args[2], args[3], Integer.parseInt(args[4]));
            } else if (args.length == 5 && args[0].equals("topic-config")) {
                topicConfig(args[1], args[2], args[3], args[4]);
            } else if (args.length == 3 && args[0].equals("dead-letters")) {
                deadLetters(args[1], args[2]);
            } else {
                System.err.println("usage: ScriptKafka publish BOOTSTRAP TOPIC < KEY<TAB>VALUE lines | lag BOOTSTRAP GROUP TOPIC"
                        + " | oversized BOOTSTRAP TOPIC KEY BYTES | topic-config BOOTSTRAP TOPIC NAME VALUE"
                        + " | dead-letters BOOTSTRAP TOPIC");
                System.exit(2);
            }
        } catch (Exception e) {
            System.err.println("ScriptKafka " + args[0] + ": " + e);
            System.exit(3);
        }
        System.exit(0);
    }

    private static void publish(String bootstrap, String topic) throws Exception {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60_000);
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
             BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                if (line.isBlank()) {
                    continue;
                }
                int tab = line.indexOf('\t');
                if (tab < 1) {
                    throw new IllegalArgumentException("expected KEY<TAB>VALUE, got: " + line);
                }
                sent.add(producer.send(new ProducerRecord<>(topic, line.substring(0, tab), line.substring(tab + 1))));
            }
            producer.flush();
            for (Future<RecordMetadata> f : sent) {
                f.get(60, TimeUnit.SECONDS);
            }
        }
        System.out.println("published=" + sent.size());
    }

    /** Publishes one non-JSON value of {@code bytes} bytes ('x'), the oversized-record fault. */
    private static void oversized(String bootstrap, String topic, String key, int bytes) throws Exception {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 4 * 1024 * 1024);
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
            RecordMetadata md = producer.send(new ProducerRecord<>(topic, key, "x".repeat(bytes))).get(60, TimeUnit.SECONDS);
            System.out.println("offset=" + md.partition() + "@" + md.offset());
        }
    }

    /** Sets one topic config (the terminal-send-error fault: a DLQ topic with a tiny max.message.bytes). */
    private static void topicConfig(String bootstrap, String topic, String name, String value) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
            ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            admin.incrementalAlterConfigs(Map.of(r, List.of(new AlterConfigOp(new ConfigEntry(name, value),
                    AlterConfigOp.OpType.SET)))).all().get(30, TimeUnit.SECONDS);
        }
    }

    /**
     * Prints one line per committed dead letter (read_committed):
     * {@code PARTITION@OFFSET SIZE CODE} of the original record, SIZE being the value's length or,
     * for a dead letter without its value, {@code dropped:<netfence.original.size>}.
     */
    private static void deadLetters(String bootstrap, String topic) throws Exception {
        Map<String, Object> c = Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 4 * 1024 * 1024);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            List<TopicPartition> parts = consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                    .map(i -> new TopicPartition(topic, i.partition())).toList();
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            Map<TopicPartition, Long> end = consumer.endOffsets(parts);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (parts.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp)) && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    String size = r.value() != null ? Integer.toString(r.value().length)
                            : "dropped:" + header(r, "netfence.original.size");
                    System.out.println(header(r, "netfence.original.partition") + "@" + header(r, "netfence.original.offset")
                            + " " + size + " " + header(r, "netfence.error.code"));
                }
            }
        }
    }

    private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
        var h = r.headers().lastHeader(name);
        return h == null ? "-" : new String(h.value(), StandardCharsets.UTF_8);
    }

    private static void lag(String bootstrap, String group, String topic) throws Exception {
        Map<String, Object> conf = Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 20_000);
        try (Admin admin = Admin.create(conf)) {
            List<TopicPartition> partitions = admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS)
                    .get(topic).partitions().stream().map(i -> new TopicPartition(topic, i.partition())).toList();
            ListOffsetsResult ends = admin.listOffsets(partitions.stream()
                    .collect(Collectors.toMap(tp -> tp, tp -> OffsetSpec.latest())));
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
            long end = 0;
            long done = 0;
            for (TopicPartition tp : partitions) {
                end += ends.partitionResult(tp).get(30, TimeUnit.SECONDS).offset();
                OffsetAndMetadata c = committed.get(tp);
                done += c == null ? 0 : c.offset();
            }
            System.out.println("committed=" + done + " end=" + end);
        }
    }
}
