package dev.netfence.kafka;

import dev.netfence.event.Outcome;
import dev.netfence.event.OutcomeCodec;
import dev.netfence.kafka.testkit.TestKafka;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * The books of a delivery test: fresh events/outcomes/DLQ topics, every event (and poison record)
 * it published, and what came out, read either as a dashboard in {@code read_committed} mode or
 * raw ({@code read_uncommitted}, which also shows aborted transactions' records). Counts are per
 * eventId (outcomes) and per original value (dead letters), so "lost" and "duplicated" are exact.
 */
final class DeliveryLedger implements AutoCloseable {
    final String events = TestKafka.uniqueTopic("crash-events");
    final String outcomes = events + ".outcomes";
    final String dlq = events + ".dlq";
    final String node;
    private final List<String> eventIds = Collections.synchronizedList(new ArrayList<>());
    private final List<String> poison = Collections.synchronizedList(new ArrayList<>());
    private final KafkaProducer<byte[], byte[]> producer = TestKafka.producer();
    private final OutcomeCodec codec = new OutcomeCodec();
    private int sequence;

    DeliveryLedger(String node, int partitions) {
        this.node = node;
        TestKafka.createTopics(partitions, events);
        TestKafka.createTopics(1, outcomes, dlq);
    }

    /** Publishes {@code n} valid events for this node (no pid: dry runs need none), acks=all. */
    synchronized void publishEvents(int n) {
        for (int i = 0; i < n; i++) {
            int k = sequence++;
            String id = node + "-ev-" + k;
            String json = "{\"schemaVersion\":1,\"type\":\"container.started\",\"eventId\":\"" + id
                    + "\",\"occurredAt\":\"" + Instant.now() + "\",\"nodeId\":\"" + node + "\",\"taskId\":\"task-"
                    + (k % 3) + "\",\"containerId\":\"c-" + (k % 23) + "\"}";
            send(json.getBytes(StandardCharsets.UTF_8));
            eventIds.add(id);
        }
        producer.flush();
    }

    /**
     * Publishes one valid event of {@code task} for a container of its own ({@code c-<eventId>}, so
     * a log line naming the container names the event); returns its eventId.
     */
    synchronized String publishEvent(String task) {
        String id = node + "-ev-" + sequence++;
        String json = "{\"schemaVersion\":1,\"type\":\"container.started\",\"eventId\":\"" + id
                + "\",\"occurredAt\":\"" + Instant.now() + "\",\"nodeId\":\"" + node + "\",\"taskId\":\"" + task
                + "\",\"containerId\":\"c-" + id + "\"}";
        send(json.getBytes(StandardCharsets.UTF_8));
        eventIds.add(id);
        return id;
    }

    /** Publishes one undecodable record for this node; it must end in the DLQ. */
    synchronized void publishPoison() {
        String value = "not json " + node + " #" + sequence++;
        send(value.getBytes(StandardCharsets.UTF_8));
        poison.add(value);
        producer.flush();
    }

    private void send(byte[] value) {
        try {
            producer.send(new ProducerRecord<>(events, node.getBytes(StandardCharsets.UTF_8), value))
                    .get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("cannot publish to " + events, e);
        }
    }

    List<String> publishedEventIds() {
        return List.copyOf(eventIds);
    }

    List<String> publishedPoison() {
        return List.copyOf(poison);
    }

    /** Outcomes per eventId. */
    Map<String, Long> outcomeCounts(boolean readCommitted) {
        return outcomeList(readCommitted).stream().collect(Collectors.groupingBy(Outcome::eventId, Collectors.counting()));
    }

    List<Outcome> outcomeList(boolean readCommitted) {
        return read(outcomes, readCommitted).stream().map(r -> codec.decode(r.value())).toList();
    }

    /** Dead letters per original value. */
    Map<String, Long> deadLetterCounts(boolean readCommitted) {
        return read(dlq, readCommitted).stream().map(r -> new String(r.value(), StandardCharsets.UTF_8))
                .collect(Collectors.groupingBy(Function.identity(), Collectors.counting()));
    }

    /** Published events without any outcome in the given view. */
    List<String> lost(boolean readCommitted) {
        Map<String, Long> counts = outcomeCounts(readCommitted);
        return publishedEventIds().stream().filter(id -> !counts.containsKey(id)).toList();
    }

    /** Committed offsets of the node's group equal the end of every events partition. */
    boolean offsetsAtEnd(int partitions) {
        try (KafkaConsumer<byte[], byte[]> c = TestKafka.reader(false)) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int i = 0; i < partitions; i++) {
                tps.add(new TopicPartition(events, i));
            }
            Map<TopicPartition, Long> end = c.endOffsets(tps);
            Map<TopicPartition, Long> committed = TestKafka.committed(new NodeRouting(node).groupId(), Set.copyOf(tps));
            return tps.stream().allMatch(tp -> end.get(tp).equals(committed.getOrDefault(tp, 0L)));
        }
    }

    /** Every record of a topic (all partitions) up to its end, or its last stable offset when read committed. */
    static List<ConsumerRecord<byte[], byte[]>> read(String topic, boolean readCommitted) {
        try (KafkaConsumer<byte[], byte[]> c = TestKafka.reader(readCommitted)) {
            List<TopicPartition> parts = c.partitionsFor(topic, Duration.ofSeconds(10)).stream()
                    .map(i -> new TopicPartition(topic, i.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<TopicPartition, Long> end = c.endOffsets(parts);
            List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
                if (System.nanoTime() - deadline > 0) {
                    throw new IllegalStateException("could not read " + topic + " to " + end + " within 60 s");
                }
                c.poll(Duration.ofMillis(200)).forEach(out::add);
            }
            return out;
        }
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(5));
    }
}
