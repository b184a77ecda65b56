package dev.netfence.reconcile;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes the live set's journal records (key containerId, value an entry or null) and keeps each
 * key's last write until the broker acknowledged it, so that a write that failed (the broker or
 * the topic's leader away longer than the producer's {@code delivery.timeout.ms}) is written again
 * by {@link #retryFailed} (every resync) instead of being lost until that container changes
 * state, which may be never: a restarted netfence would then not know the container and never
 * repair its rules. Only the last write of a key is retried, and a newer write of the key
 * supersedes a failed older one. Sends and retries are serialised here (so a retry never overtakes
 * a newer write of its key); the producer's callbacks only mark, they never take that lock.
 */
final class JournalWrites implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(JournalWrites.class);

    /** A key's last write: in flight, or failed (then retried). */
    private record Write(long generation, byte[] value, boolean failed) {
        Write asFailed() {
            return new Write(generation, value, true);
        }
    }

    private final Producer<byte[], byte[]> producer;
    private final String topic;
    private final Map<String, Write> pending = new ConcurrentHashMap<>();
    private final AtomicLong generations = new AtomicLong();

    JournalWrites(Producer<byte[], byte[]> producer, String topic) {
        this.producer = producer;
        this.topic = topic;
    }

    /** Sends the key's new value (null: a tombstone); it replaces any write of the key not yet acknowledged. */
    synchronized void write(String containerId, byte[] value) {
        Write w = new Write(generations.incrementAndGet(), value, false);
        pending.put(containerId, w);
        try {
            producer.send(new ProducerRecord<>(topic, containerId.getBytes(StandardCharsets.UTF_8), value),
                    (md, e) -> completed(containerId, w, e));
        } catch (RuntimeException e) { // closed, or a send the client refused at once
            completed(containerId, w, e);
        }
    }

    private void completed(String containerId, Write w, Exception e) {
        if (e == null) {
            pending.remove(containerId, w);
            return;
        }
        // only the key's last write is kept for a retry; a newer one replaced it in the map already
        Write now = pending.computeIfPresent(containerId,
                (k, cur) -> cur.generation() == w.generation() ? cur.asFailed() : cur);
        if (now != null && now.generation() == w.generation()) {
            LOG.warn("writing the live-set entry of container {} to {} failed ({}); written again at the next resync",
                    containerId, topic, e.toString());
        }
    }

    /**
     * Writes again every key whose last write failed; how many. Stops at the first write that
     * fails before its send returns (the producer gave up waiting for the topic's metadata, up to
     * its {@code max.block.ms}: the broker is still away), so one resync never waits that long per key.
     */
    synchronized int retryFailed() {
        int n = 0;
        for (Map.Entry<String, Write> e : pending.entrySet()) {
            if (e.getValue().failed()) {
                write(e.getKey(), e.getValue().value());
                n++;
                Write now = pending.get(e.getKey());
                if (now != null && now.failed()) {
                    break;
                }
            }
        }
        return n;
    }

    /** Waits until every write sent so far is acknowledged or failed. */
    void flush() {
        producer.flush();
    }

    /** The keys whose last write failed or is not acknowledged yet. */
    List<String> unwritten() {
        return new ArrayList<>(pending.keySet());
    }

    /**
     * Closes the producer, waiting up to {@code timeout} for every write to be acknowledged (what
     * is not is failed by the producer); logs the containers whose entry did not reach the topic,
     * and returns them. What failed before is not retried here: a send can wait for the topic's
     * metadata up to {@code max.block.ms} (60 s), past any shutdown budget.
     */
    List<String> close(Duration timeout) {
        producer.close(timeout);
        List<String> left = unwritten();
        if (!left.isEmpty()) {
            LOG.error("the live-set entries of {} containers were not written to {} before shutdown: {}; a restarted "
                    + "netfence will not resync them until they change (replay their container.started events)",
                    left.size(), topic, left);
        }
        return left;
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(10));
    }
}
