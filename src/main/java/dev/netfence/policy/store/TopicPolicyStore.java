package dev.netfence.policy.store;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Policies materialized from the compacted {@code sandbox.policies} topic (key taskId, value
 * policy JSON, null value = delete). One daemon thread owns a group-less consumer that is
 * assigned every partition and reads from the beginning, forever; the store counts as caught up
 * once it has read up to the end offsets it saw at start, so a restarted service never reports
 * ready before it knows every policy that existed (the pipeline reads no event before that, as
 * Kafka Streams fills its global tables before processing). Until the topic exists the store
 * waits for it and is not caught up. Partitions added to the topic later are picked up from their
 * beginning: the partition count is re-read from the consumer's metadata (refreshed every
 * {@code metadata.max.age.ms}, 30 s unless configured) every {@link #PARTITION_CHECK}; one found
 * before the store caught up is read to its end offset too before the store counts as caught up.
 * A partition the consumer reads again from an earlier offset (the topic deleted and created again,
 * or truncated) is rebuilt by {@link PartitionLedger}: the store is not caught up until it has
 * read the partition to its end again, and then holds exactly what the partition names. A reader
 * that stops for good (an {@link Error}) leaves the store not caught up, so readiness says so
 * instead of netfence going on with policies that no longer change.
 */
public final class TopicPolicyStore implements PolicyStore {
    private static final Logger LOG = LoggerFactory.getLogger(TopicPolicyStore.class);
    private static final Duration POLL = Duration.ofMillis(200);
    static final Duration PARTITION_CHECK = Duration.ofSeconds(5);

    private final String topic;
    private final PolicyDecoder decoder;
    private final PolicyTable table = new PolicyTable();
    private final PartitionLedger ledger = new PartitionLedger(table);
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final TopicMetadata metadata;
    private final Thread thread;
    private volatile boolean caughtUp;
    private volatile boolean rebuilding;
    /** A rebuild is to begin (reading paused): the reader thread's own. */
    private boolean rebuildWanted;
    private volatile boolean stopped;
    /** The reader's failures in a row (metadata, end offsets, polls), for readiness. */
    private final FailureStreak failures = new FailureStreak();
    /** How long the reader of a caught-up store may keep failing before readiness says so. */
    static final Duration FAILING_NOT_READY = Duration.ofSeconds(30);
    /** The partitions assigned (written by the reader thread only, a new list each time; readiness reads it too), and what the first catch-up must read (the reader thread's own). */
    private volatile List<TopicPartition> parts = List.of();
    private final Map<TopicPartition, Long> target = new HashMap<>();
    private final Duration failingNotReady;
    private volatile boolean closed;

    private TopicPolicyStore(Map<String, Object> kafka, String topic, PolicyDecoder decoder, Duration failingNotReady) {
        this.topic = topic;
        this.failingNotReady = failingNotReady;
        this.decoder = decoder;
        Map<String, Object> conf = new HashMap<>(kafka);
        conf.remove(ConsumerConfig.GROUP_ID_CONFIG);
        conf.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
        conf.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        conf.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        conf.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        conf.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        conf.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "netfence-policies");
        conf.putIfAbsent(ConsumerConfig.METADATA_MAX_AGE_CONFIG, 30_000);
        this.consumer = new KafkaConsumer<>(conf, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        this.metadata = new TopicMetadata(consumer, topic, failures, () -> closed);
        this.thread = new Thread(this::run, "netfence-policy-store");
        this.thread.setDaemon(true);
    }

    /** Starts reading {@code topic} with the given client settings (bootstrap servers, TLS...). */
    public static TopicPolicyStore start(Map<String, Object> kafka, String topic, PolicyDecoder decoder) {
        return start(kafka, topic, decoder, FAILING_NOT_READY);
    }

    /** As {@link #start(Map, String, PolicyDecoder)}, readiness failing after {@code failingNotReady} of failures. */
    static TopicPolicyStore start(Map<String, Object> kafka, String topic, PolicyDecoder decoder,
            Duration failingNotReady) {
        TopicPolicyStore store = new TopicPolicyStore(kafka, topic, decoder, failingNotReady);
        store.thread.start();
        return store;
    }

    @Override
    public Optional<StoredPolicy> lookup(String taskId) {
        return table.get(taskId);
    }

    @Override
    public Optional<StoredPolicy> await(String taskId, Duration timeout) throws InterruptedException {
        return table.await(taskId, timeout);
    }

    @Override
    public CompletableFuture<Optional<StoredPolicy>> whenAvailable(String taskId, Duration timeout) {
        return table.whenAvailable(taskId, timeout);
    }

    @Override
    public void onChange(Consumer<String> listener) {
        table.onChange(listener);
    }

    /**
     * True once the store has read everything the topic held when it started (and stays true: a
     * rebuild or a stopped reader is {@link #notReadyReason}, which readiness reports; the events
     * go on meanwhile under the policies last read).
     */
    @Override
    public boolean isCaughtUp() {
        return caughtUp;
    }

    @Override
    public List<TopicPartition> readCommittedPartitions() {
        return List.copyOf(parts);
    }

    @Override
    public Optional<String> notReadyReason() {
        if (stopped) {
            return Optional.of("the policy store's reader stopped for good: policy changes are no longer read;"
                    + " restart netfence");
        }
        if (rebuilding) {
            return Optional.of("the policies topic " + topic + " is read again (deleted and created again, or truncated)");
        }
        // before it caught up, why it has not (at once); after, a reader that keeps failing (its READ permission
        // taken away, a record batch it cannot read): changes to policies are not read meanwhile
        return failures.reason("reading the policies topic " + topic, caughtUp ? failingNotReady : Duration.ZERO)
                .map(r -> caughtUp ? r + "; policy changes are not read meanwhile" : r);
    }

    @Override
    public boolean stoppedForGood() {
        return stopped;
    }

    /** How many tasks currently have a policy. */
    public int size() {
        return table.size();
    }

    private void run() {
        try {
            parts = metadata.awaitPartitions();
            if (parts.isEmpty()) {
                return;
            }
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            Map<TopicPartition, Long> start = metadata.awaitEndOffsets(parts);
            if (start == null) {
                return;
            }
            target.putAll(start);
            LOG.info("reading policies from {} up to {}", topic, target);
            long nextCheck = System.nanoTime() + PARTITION_CHECK.toNanos();
            while (!closed) {
                try {
                    if (rebuildWanted) {
                        beginRebuild();
                    } else if (System.nanoTime() - nextCheck >= 0) {
                        checkPartitions();
                        if (!rebuildWanted) {
                            checkPositions();
                        }
                        if (!rebuildWanted && (!caughtUp || rebuilding)) {
                            checkEnds();
                        }
                        nextCheck = System.nanoTime() + PARTITION_CHECK.toNanos();
                    }
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(POLL)) {
                        if (!apply(r)) {
                            break; // the topic is read again from the beginning: the rest of this batch is stale
                        }
                    }
                    if (rebuilding && !rebuildWanted) {
                        checkPositions(); // every partition read to its end again: the staged policies replace the table
                    }
                    // position() asks the broker while a partition's start offset is not known yet,
                    // and times out like poll() when the broker does not answer: retried the same way
                    if (!caughtUp && !rebuilding && target.entrySet().stream().allMatch(e -> consumer.position(e.getKey()) >= e.getValue())) {
                        caughtUp = true;
                        ledger.readThrough();
                        LOG.info("policy store caught up: {} policies from {}", table.size(), topic);
                    }
                    if (metadata.missing() == null) {
                        failures.succeeded();
                    } else {
                        failures.failed(metadata.missing());
                    }
                } catch (WakeupException e) {
                    throw e;
                } catch (RuntimeException e) {
                    failures.failed(e.toString());
                    LOG.warn("reading policies from {} failed, retrying: {}", topic, e.toString());
                    Thread.sleep(1000);
                }
            }
        } catch (WakeupException e) {
            if (!closed) {
                LOG.error("policy store woken up unexpectedly", e);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException | Error e) {
            stopped = true;
            LOG.error("policy store reader of {} stopped for good: policy changes are no longer read and readiness"
                    + " reports it; restart netfence", topic, e);
        } finally {
            consumer.close(Duration.ofSeconds(5));
        }
    }

    /**
     * Assigns partitions that appeared since the last check, read from their beginning (before the
     * store caught up, also read to their end before it counts as caught up); partitions the topic
     * no longer has (created again with fewer) start a rebuild of the whole topic. A metadata error,
     * or a topic the metadata does not show (deleted), leaves the assignment as it is until the
     * next check; a missing topic counts as a failure of the reader until it is back (readiness).
     */
    private void checkPartitions() throws InterruptedException {
        List<TopicPartition> all;
        try {
            all = metadata.partitionsChecked(failingNotReady);
        } catch (WakeupException e) {
            throw e;
        } catch (RuntimeException e) {
            LOG.warn("cannot re-read the partitions of {}: {}", topic, e.toString());
            return;
        }
        if (all.isEmpty() || all.size() == parts.size()) {
            return;
        }
        List<TopicPartition> known = parts;
        List<TopicPartition> added = all.stream().filter(tp -> !known.contains(tp)).toList();
        boolean shrank = !all.containsAll(known);
        consumer.assign(all);
        parts = all;
        target.keySet().retainAll(new HashSet<>(all));
        if (shrank) {
            LOG.warn("policy topic {} has {} partitions now, some of those read before gone", topic, all.size());
            startRebuild();
            return;
        }
        consumer.seekToBeginning(added);
        LOG.info("policy topic {} grew to {} partitions; reading {} from the beginning", topic, all.size(), added);
        if (!caughtUp) {
            // found before the store caught up (the topic grew, or the first metadata lacked them)
            Map<TopicPartition, Long> more = metadata.awaitEndOffsets(added);
            if (more != null) {
                target.putAll(more);
                LOG.info("reading policies from {} up to {}", topic, target);
            }
        }
    }

    /**
     * Where the consumer is in each partition: one it reads again from an earlier offset (the topic
     * created again or truncated, no record read yet) starts a rebuild; a rebuild whose partitions
     * all reached their ends finishes.
     */
    private void checkPositions() throws InterruptedException {
        for (TopicPartition tp : parts) {
            long position;
            try {
                position = consumer.position(tp, Duration.ofSeconds(5));
            } catch (org.apache.kafka.common.errors.TimeoutException e) {
                continue; // not known yet (an offset reset under way): the next check
            }
            if (ledger.wentBack(tp, position)) {
                startRebuild();
                return;
            }
            ledger.positioned(tp, position);
        }
        rebuilding = ledger.rebuilding();
    }

    /**
     * While the store reads toward an end (its first catch-up, a rebuild), whether a partition's
     * end offset fell below it: the topic changed under the store before it read a record that
     * would show the step back, and that end would never be reached; a rebuild starts over.
     */
    private void checkEnds() {
        Map<TopicPartition, Long> ends;
        try {
            ends = consumer.endOffsets(parts, Duration.ofSeconds(5));
        } catch (WakeupException e) {
            throw e;
        } catch (RuntimeException e) { // a partition without a leader: the other partitions are read meanwhile
            LOG.warn("cannot read the end offsets of {} to check them: {}", topic, e.toString());
            return;
        }
        boolean below = ends.entrySet().stream().anyMatch(e -> !caughtUp && target.containsKey(e.getKey())
                && e.getValue() < target.get(e.getKey()));
        if (below || ledger.endsFellBelow(ends)) {
            startRebuild();
        }
    }

    /**
     * The whole topic is to be read again from the beginning of every partition (the consumer resets
     * to where a truncated log diverged, not to its beginning, and a task's key may have moved to
     * another partition): reading pauses until {@link #beginRebuild} knows the topic's partitions
     * and end offsets now.
     */
    private void startRebuild() {
        rebuildWanted = true;
        rebuilding = true;
        consumer.pause(consumer.assignment());
    }

    /**
     * Reads the topic's partitions and their end offsets now (each try bounded: a partition of the
     * old topic that is gone would otherwise be waited for without end; a failure is retried by the
     * loop), then reads every partition from the beginning, its records staged until each reaches
     * that end.
     */
    private void beginRebuild() {
        List<TopicPartition> all = metadata.partitionsNow();
        if (all.isEmpty()) {
            return; // being deleted or created: the next round
        }
        if (!all.equals(parts)) {
            consumer.assign(all);
            consumer.pause(all);
            parts = all;
            target.keySet().retainAll(new HashSet<>(all));
        }
        Map<TopicPartition, Long> ends = consumer.endOffsets(parts, Duration.ofSeconds(10));
        consumer.seekToBeginning(parts);
        consumer.resume(parts);
        ledger.rebuild(ends);
        rebuildWanted = false;
        LOG.warn("policy topic {} changed under the store (deleted and created again, or truncated): reading it again"
                + " from the beginning; its policies replace the ones read before once it is read up to {}", topic, ends);
        if (!caughtUp) {
            target.clear();
            target.putAll(ends);
        }
    }

    /** Applies (or, during a rebuild, stages) one record; false when it started a rebuild instead. */
    private boolean apply(ConsumerRecord<byte[], byte[]> r) throws InterruptedException {
        TopicPartition tp = new TopicPartition(r.topic(), r.partition());
        if (ledger.wentBack(tp, r.offset())) {
            startRebuild();
            return false;
        }
        if (r.key() == null) {
            LOG.warn("ignoring policy record without a key at {}-{}@{}", r.topic(), r.partition(), r.offset());
            ledger.skipped(tp, r.offset());
            return true;
        }
        String taskId = new String(r.key(), StandardCharsets.UTF_8);
        Optional<StoredPolicy> policy = Optional.empty();
        if (r.value() != null) {
            StoredPolicy p;
            try {
                p = decoder.decode(r.value());
            } catch (RuntimeException | StackOverflowError e) { // a document nested too deep is invalid, not the reader's end
                p = new StoredPolicy.Invalid(List.of("policy could not be read: " + e));
            }
            if (p instanceof StoredPolicy.Invalid inv) {
                LOG.warn("stored policy of task {} is invalid: {}", taskId, inv.reasons());
            }
            policy = Optional.of(p);
        }
        ledger.record(tp, r.offset(), r.timestamp(), taskId, policy);
        return true;
    }

    @Override
    public void close() {
        closed = true;
        consumer.wakeup();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
