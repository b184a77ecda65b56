package dev.netfence.kafka.testkit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.testcontainers.DockerClientFactory;

/**
 * The one Kafka broker of a test JVM run, chosen once: {@code KAFKA_BOOTSTRAP_SERVERS} when set;
 * else a Testcontainers broker when a Docker engine answers; else an embedded {@link KraftBroker}
 * child process. Plus the few helpers every Kafka test needs (unique topics, clients, reading a
 * topic to its end, committed offsets).
 */
public final class TestKafka {
    private static String bootstrap;
    private static KraftBroker embedded;

    private TestKafka() {}

    /** The broker's bootstrap servers, starting a broker on first use. */
    public static synchronized String bootstrapServers() {
        if (bootstrap == null) {
            bootstrap = choose();
        }
        return bootstrap;
    }

    /** The embedded broker when this run uses one (so a test can restart it), else empty. */
    public static synchronized Optional<KraftBroker> embedded() {
        bootstrapServers();
        return Optional.ofNullable(embedded);
    }

    /**
     * The embedded broker, for a test that restarts it or stalls it through its proxy ({@code needs}
     * says which). Where this run's broker is another ({@code KAFKA_BOOTSTRAP_SERVERS}, Docker), no
     * test can do either: the test is skipped, or fails where {@code NETFENCE_REQUIRE_KERNEL_TESTS=1}
     * asks every test to run.
     */
    public static KraftBroker embeddedFor(String needs) {
        Optional<KraftBroker> broker = embedded();
        if (broker.isPresent()) {
            return broker.get();
        }
        String why = needs + ", and this run's broker is not the embedded one (KAFKA_BOOTSTRAP_SERVERS or a Docker"
                + " engine chose another)";
        if ("1".equals(System.getenv(dev.netfence.testkit.KernelTests.REQUIRE_ENV))) {
            org.junit.jupiter.api.Assertions.fail(why + "; " + dev.netfence.testkit.KernelTests.REQUIRE_ENV
                    + "=1 asks every test to run");
        }
        org.junit.jupiter.api.Assumptions.abort(why);
        throw new AssertionError("unreachable");
    }

    private static String choose() {
        String env = System.getenv("KAFKA_BOOTSTRAP_SERVERS");
        if (env != null && !env.isBlank()) {
            return env;
        }
        if (dockerAvailable()) {
            org.testcontainers.kafka.KafkaContainer c = new org.testcontainers.kafka.KafkaContainer("apache/kafka:4.1.1");
            c.start();
            Runtime.getRuntime().addShutdownHook(new Thread(c::stop, "kafka-container-stop"));
            return c.getBootstrapServers();
        }
        try {
            embedded = KraftBroker.start(Files.createTempDirectory("netfence-kraft-"));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return embedded.bootstrapServers();
    }

    private static boolean dockerAvailable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (Throwable t) {
            return false;
        }
    }

    /** A fresh topic name with the given prefix; never reused within or across runs. */
    public static String uniqueTopic(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    public static Admin admin() {
        return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers()));
    }

    /**
     * Waits until every partition of {@code names} is known and has a leader, and the leader answers for it: a
     * producer that starts sending the moment the topic exists can meet NOT_LEADER_OR_FOLLOWER,
     * and its idempotent retries then failed with out-of-order sequences until the batches expired
     * (seen twice here, the second time after the metadata already named a leader: the broker
     * takes the partition's leadership a moment after the controller records it). A ListOffsets
     * of every partition goes to the leader itself, which must hold the partition to answer.
     */
    public static void awaitLeaders(Admin admin, List<String> names) throws Exception {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            List<TopicPartition> partitions = new ArrayList<>();
            boolean led;
            try {
                led = admin.describeTopics(names).allTopicNames().get(10, TimeUnit.SECONDS).values().stream()
                        .flatMap(d -> d.partitions().stream().peek(p -> partitions.add(new TopicPartition(d.name(), p.partition()))))
                        .allMatch(p -> p.leader() != null && !p.leader().isEmpty());
            } catch (java.util.concurrent.ExecutionException e) {
                // the broker answering may not know the topic yet (UNKNOWN_TOPIC_OR_PARTITION right after
                // the create returned: a full run lost its pipeline section to this): ask again
                led = false;
            }
            if (led && answered(admin, partitions)) {
                return;
            }
            if (System.nanoTime() - until > 0) {
                throw new IllegalStateException("partitions of " + names + " have no leader after 60 s");
            }
            Thread.sleep(50);
        }
    }

    /** Whether the leader of every partition answers a ListOffsets for it now. */
    private static boolean answered(Admin admin, List<TopicPartition> partitions) throws InterruptedException {
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        partitions.forEach(tp -> latest.put(tp, OffsetSpec.latest()));
        try {
            admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS);
            return true;
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            return false;
        }
    }

    /** Creates topics (each with {@code partitions} partitions, RF 1) and waits for them and their leaders. */
    public static void createTopics(int partitions, String... names) {
        List<NewTopic> topics = new ArrayList<>();
        for (String n : names) {
            topics.add(new NewTopic(n, partitions, (short) 1));
        }
        try (Admin admin = admin()) {
            admin.createTopics(topics).all().get(30, TimeUnit.SECONDS);
            awaitLeaders(admin, List.of(names));
        } catch (Exception e) {
            throw new IllegalStateException("cannot create topics " + List.of(names), e);
        }
    }

    /** Creates a topic that accepts records up to 4 MiB (to test the 1 MiB event limit). */
    public static void createLargeRecordTopic(String name, int partitions) {
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1)
                    .configs(Map.of("max.message.bytes", Integer.toString(4 * 1024 * 1024)))))
                    .all().get(30, TimeUnit.SECONDS);
            awaitLeaders(admin, List.of(name));
        } catch (Exception e) {
            throw new IllegalStateException("cannot create topic " + name, e);
        }
    }

    /** Creates a compacted topic, as {@code sandbox.policies} is. */
    public static void createCompactedTopic(String name, int partitions) {
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1)
                    .configs(Map.of("cleanup.policy", "compact")))).all().get(30, TimeUnit.SECONDS);
            awaitLeaders(admin, List.of(name));
        } catch (Exception e) {
            throw new IllegalStateException("cannot create topic " + name, e);
        }
    }

    public static KafkaProducer<byte[], byte[]> producer() {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 4 * 1024 * 1024);
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** A consumer with no group, for reading topics by assignment. */
    public static KafkaConsumer<byte[], byte[]> reader(boolean readCommitted) {
        Map<String, Object> p = new HashMap<>();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, readCommitted ? "read_committed" : "read_uncommitted");
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 4 * 1024 * 1024);
        return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /** Every record currently in {@code topic} (all partitions, start to end). */
    public static List<ConsumerRecord<byte[], byte[]>> readAll(String topic) {
        try (KafkaConsumer<byte[], byte[]> c = reader(false)) {
            List<TopicPartition> parts = c.partitionsFor(topic, Duration.ofSeconds(10)).stream()
                    .map(i -> new TopicPartition(topic, i.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<TopicPartition, Long> end = c.endOffsets(parts);
            List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp)) && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(200)).forEach(out::add);
            }
            return out;
        }
    }

    /** The committed offsets of a consumer group for the given partitions (missing = none). */
    public static Map<TopicPartition, Long> committed(String group, Set<TopicPartition> parts) {
        try (Admin admin = admin()) {
            Map<TopicPartition, OffsetAndMetadata> m = admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS);
            Map<TopicPartition, Long> out = new HashMap<>();
            for (TopicPartition tp : parts) {
                OffsetAndMetadata o = m.get(tp);
                if (o != null) {
                    out.put(tp, o.offset());
                }
            }
            return out;
        } catch (Exception e) {
            throw new IllegalStateException("cannot read committed offsets of " + group, e);
        }
    }

    /** A fresh temp directory for a test's files. */
    public static Path tempDir(String prefix) {
        try {
            return Files.createTempDirectory(prefix);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
