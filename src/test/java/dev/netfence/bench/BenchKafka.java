package dev.netfence.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The Kafka plumbing of the benchmark driver: topics, a bulk loader, and a reader that waits
 * until an output topic holds N records and reports the span between the first and the last
 * record's timestamp. The span, not a stopwatch around a child process, is what the rates are
 * computed from, so JVM start-up and group joins are excluded the same way for every contender.
 */
final class BenchKafka {
    private final String bootstrap;

    BenchKafka(String bootstrap) {
        this.bootstrap = bootstrap;
    }

    String bootstrap() {
        return bootstrap;
    }

    void createTopics(int partitions, Map<String, String> configs, String... names) {
        List<NewTopic> topics = new ArrayList<>();
        for (String n : names) {
            topics.add(new NewTopic(n, partitions, (short) 1).configs(configs));
        }
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
            admin.createTopics(topics).all().get(60, TimeUnit.SECONDS);
            dev.netfence.kafka.testkit.TestKafka.awaitLeaders(admin, List.of(names));
        } catch (Exception e) {
            throw new IllegalStateException("cannot create topics " + List.of(names), e);
        }
    }

    KafkaProducer<byte[], byte[]> producer(int lingerMs) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.LINGER_MS_CONFIG, lingerMs);
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** Produces {@code n} records built by {@code record} and waits until all are acknowledged. */
    void load(int n, IntFunction<ProducerRecord<byte[], byte[]>> record) {
        try (KafkaProducer<byte[], byte[]> p = producer(20)) {
            for (int i = 0; i < n; i++) {
                p.send(record.apply(i), (md, e) -> {
                    if (e != null) {
                        throw new IllegalStateException("bench load failed", e);
                    }
                });
            }
            p.flush();
        }
    }

    KafkaConsumer<byte[], byte[]> reader() {
        return reader(Map.of());
    }

    /**
     * The reader of {@link #awaitRecords}, for the rate sections: a fetch waits for 64 KB or
     * 100 ms. Rates come from the records' timestamps, so when a record is read does not change
     * them; read one fetch per outcome instead (as {@link #reader()} does, for latency), the
     * driver and the broker spent about 1 ms of CPU per event on the two cores netfence shares.
     */
    private KafkaConsumer<byte[], byte[]> bulkReader() {
        return reader(Map.of(ConsumerConfig.FETCH_MIN_BYTES_CONFIG, 64 * 1024, ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 100));
    }

    private KafkaConsumer<byte[], byte[]> reader(Map<String, Object> extra) {
        Map<String, Object> p = new HashMap<>();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 50);
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
        p.putAll(extra);
        return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /**
     * Observed output: how many records, first and last timestamps, every record's timestamp in
     * order (so the rate of the last k can be taken after a warm-up), and values if asked.
     */
    record Span(long count, long firstMs, long lastMs, long[] sortedMs, List<byte[]> values) {
        /** Records per second over the whole run, JVM warm-up included. */
        double ratePerSecond() {
            long ms = Math.max(1, lastMs - firstMs);
            return (count - 1) * 1000.0 / ms;
        }

        /** Records per second over the last {@code k} records: the rate once the warm-up records are through. */
        double rateOfLast(int k) {
            int n = sortedMs.length;
            int from = Math.max(0, n - k);
            long ms = Math.max(1, sortedMs[n - 1] - sortedMs[from]);
            return (n - from - 1) * 1000.0 / ms;
        }
    }

    /**
     * Waits until {@code topic}'s partitions end at {@code n} records or more in all, or {@code
     * timeout} passes, running {@code whileWaiting} every 200 ms, without reading a record: the
     * enforce section's contender then has the two cores to itself as the nft floor has (reading
     * its outcomes as they came cost the driver and the broker ≈ 2 % of the machine, bunched
     * fetches included), and its records are read afterwards by {@link #awaitRecords}, whose
     * rates come from the records' timestamps, not from when they were read. For a topic written
     * without transactions (an end offset counts committed records only then).
     */
    void awaitEndOffsets(String topic, long n, Duration timeout, Runnable whileWaiting) throws InterruptedException {
        try (KafkaConsumer<byte[], byte[]> c = reader()) {
            long until = System.nanoTime() + timeout.toNanos();
            List<TopicPartition> parts = new ArrayList<>();
            while (parts.isEmpty() && System.nanoTime() < until) {
                var infos = c.partitionsFor(topic, Duration.ofSeconds(10));
                if (infos != null) {
                    infos.forEach(i -> parts.add(new TopicPartition(topic, i.partition())));
                } else {
                    Thread.sleep(200);
                }
            }
            long ended = 0;
            while (System.nanoTime() < until) {
                ended = c.endOffsets(parts, Duration.ofSeconds(10)).values().stream().mapToLong(Long::longValue).sum();
                if (ended >= n) {
                    return;
                }
                whileWaiting.run();
                Thread.sleep(200);
            }
            throw new IllegalStateException(topic + " ends at " + ended + " of " + n + " records after " + timeout);
        }
    }

    /** Reads {@code topic} from the start until it holds {@code n} records or {@code timeout} passes. */
    Span awaitRecords(String topic, long n, Duration timeout, boolean keepValues, Runnable whileWaiting) {
        try (KafkaConsumer<byte[], byte[]> c = bulkReader()) {
            List<TopicPartition> parts = new ArrayList<>();
            long until = System.nanoTime() + timeout.toNanos();
            while (parts.isEmpty() && System.nanoTime() < until) {
                var infos = c.partitionsFor(topic, Duration.ofSeconds(10));
                if (infos != null) {
                    infos.forEach(i -> parts.add(new TopicPartition(topic, i.partition())));
                }
            }
            c.assign(parts);
            c.seekToBeginning(parts);
            long count = 0;
            long first = Long.MAX_VALUE;
            long last = Long.MIN_VALUE;
            List<byte[]> values = new ArrayList<>();
            long[] stamps = new long[(int) Math.min(n, 10_000_000)];
            while (count < n && System.nanoTime() < until) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    if (count < stamps.length) {
                        stamps[(int) count] = r.timestamp();
                    }
                    count++;
                    first = Math.min(first, r.timestamp());
                    last = Math.max(last, r.timestamp());
                    if (keepValues) {
                        values.add(r.value());
                    }
                }
                whileWaiting.run();
            }
            if (count < n) {
                throw new IllegalStateException(topic + " holds " + count + " of " + n + " records after " + timeout);
            }
            long[] seen = Arrays.copyOf(stamps, (int) Math.min(count, stamps.length));
            Arrays.sort(seen);
            return new Span(count, first, last, seen, values);
        }
    }
}
