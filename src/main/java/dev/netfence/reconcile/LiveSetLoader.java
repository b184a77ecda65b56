package dev.netfence.reconcile;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RetriableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the live set's journal ({@link EnforcementsTopic}) once at start: every partition from
 * the beginning to the end offsets it saw, the last value of each key, tombstoned keys left out,
 * the entries of this node's containers kept (as it reads: the topic holds the whole fleet's
 * containers, and a node keeps only its own in memory, not every node's until the end). It never gives up and never returns part of the
 * topic: a start that went on with the part read within a minute left the other containers
 * unwatched for good (no resync, no policy update, no release), and one while the broker was away
 * exited, so that a node restarted during an outage could not start at all. While the broker
 * cannot be reached (a retriable error) or does not know the topic yet (netfence creates it at
 * start; a broker just restarted may not know it for a moment, and an empty answer taken for "no
 * live set" left every container of the node unwatched) the read is attempted again, each failure
 * logged with the topic and the servers; while it is slow its progress is logged. An error that
 * retrying cannot mend (authorization, authentication, a bad setting) is thrown.
 */
final class LiveSetLoader {
    private static final Logger LOG = LoggerFactory.getLogger(LiveSetLoader.class);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

    private final Supplier<Consumer<byte[], byte[]>> consumers;
    private final String topic;
    private final String servers;
    private final Duration timeout;
    private final Duration firstBackoff;
    private final LiveContainerCodec codec = new LiveContainerCodec();

    /**
     * @param consumers a new consumer per attempt (closed after it)
     * @param timeout each metadata request's bound, and how often a slow read logs its progress
     * @param firstBackoff the wait after the first failed attempt, doubling up to 30 s
     */
    LiveSetLoader(Supplier<Consumer<byte[], byte[]>> consumers, String topic, String servers, Duration timeout,
            Duration firstBackoff) {
        this.consumers = consumers;
        this.topic = topic;
        this.servers = servers;
        this.timeout = timeout;
        this.firstBackoff = firstBackoff;
    }

    /** The entries of the containers {@code ownsNode} accepts the nodeId of; blocks until the whole topic is read. */
    List<LiveContainer> load(Predicate<String> ownsNode) throws InterruptedException {
        return load(ownsNode, null);
    }

    /**
     * As {@link #load(Predicate)}, but no new attempt starts once {@code budget} has passed (null:
     * no bound): the last failure is thrown then ({@link org.apache.kafka.common.errors.TimeoutException}
     * or the error). For a read while netfence already runs (a take-over, {@link TakeOver}), which
     * keeps the live set it has when the read fails.
     */
    List<LiveContainer> load(Predicate<String> ownsNode, Duration budget) throws InterruptedException {
        Duration backoff = firstBackoff;
        long end = budget == null ? 0 : System.nanoTime() + budget.toNanos();
        String meanwhile = budget == null ? "netfence enforces nothing before it has read its live set"
                : "the containers another instance of this node started meanwhile stay unknown until it is read";
        for (int attempt = 1; ; attempt++) {
            try (Consumer<byte[], byte[]> consumer = consumers.get()) {
                long[] records = new long[1];
                Map<String, LiveContainer> live = readAll(consumer, ownsNode, records, meanwhile,
                        budget == null ? null : end);
                LOG.info("live set read from {}: {} containers on this node ({} records in the topic)", topic,
                        live.size(), records[0]);
                return List.copyOf(live.values());
            } catch (RetriableException | TopicNotKnown e) {
                if (budget != null && System.nanoTime() + backoff.toNanos() - end > 0) {
                    throw e;
                }
                LOG.error("reading the live-set topic {} from {} failed (attempt {}: {}); trying again in {} ms: {}",
                        topic, servers, attempt, e.toString(), backoff.toMillis(), meanwhile);
                Thread.sleep(backoff.toMillis());
                backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
            }
        }
    }

    /**
     * The last entry of each key whose node {@code ownsNode} accepts; {@code records} counts what was
     * read. {@code giveUp}: past this {@link System#nanoTime}, a read that has not reached the end
     * offsets gives up (null: never).
     */
    private Map<String, LiveContainer> readAll(Consumer<byte[], byte[]> consumer, Predicate<String> ownsNode,
            long[] records, String meanwhile, Long giveUp) {
        Map<String, LiveContainer> live = new LinkedHashMap<>();
        List<PartitionInfo> infos = consumer.partitionsFor(topic, timeout);
        if (infos == null || infos.isEmpty()) {
            throw new TopicNotKnown("the broker does not know topic " + topic + " (yet)");
        }
        List<TopicPartition> parts = infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
        consumer.assign(parts);
        consumer.seekToBeginning(parts);
        Map<TopicPartition, Long> end = consumer.endOffsets(parts, timeout);
        long nextReport = System.nanoTime() + timeout.toNanos();
        while (!parts.stream().allMatch(tp -> consumer.position(tp, timeout) >= end.get(tp))) {
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                apply(r, live, ownsNode);
                records[0]++;
            }
            if (giveUp != null && System.nanoTime() - giveUp > 0) { // a broker gone mid-read: polls bring nothing, for good
                throw new org.apache.kafka.common.errors.TimeoutException("the live-set topic " + topic
                        + " was not read to its end within the budget (" + records[0] + " records read)");
            }
            if (System.nanoTime() - nextReport > 0) {
                LOG.warn("still reading live-set topic {} ({} records so far): {}", topic, records[0], meanwhile);
                nextReport = System.nanoTime() + timeout.toNanos();
            }
        }
        return live;
    }

    /** The broker answered that it does not know the topic: tried again, as a retriable error is. */
    private static final class TopicNotKnown extends KafkaException {
        TopicNotKnown(String message) {
            super(message);
        }
    }

    /** The key's last record decides: another node's entry, a tombstone or an unreadable value drops what was kept of it. */
    private void apply(ConsumerRecord<byte[], byte[]> r, Map<String, LiveContainer> live, Predicate<String> ownsNode) {
        if (r.key() == null) {
            return;
        }
        String id = new String(r.key(), StandardCharsets.UTF_8);
        if (r.value() == null) {
            live.remove(id);
            return;
        }
        LiveContainer c;
        try {
            c = codec.decode(r.value());
        } catch (IllegalArgumentException e) {
            LOG.warn("skipping unreadable live-set record {} at {}-{}@{}: {}", id, r.topic(), r.partition(), r.offset(),
                    e.getMessage());
            live.remove(id);
            return;
        }
        if (ownsNode.test(c.nodeId())) {
            live.put(id, c);
        } else {
            live.remove(id);
        }
    }
}
