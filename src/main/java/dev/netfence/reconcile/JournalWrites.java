package dev.netfence.reconcile;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes the live set's journal records (key containerId, value an entry or null) on a sender
 * thread of its own, and keeps each key's last write until the broker acknowledged it. No caller
 * waits for the broker: a send can block for the topic's metadata up to the producer's
 * {@code max.block.ms} (60 s) while the broker is away, and the callers are the OCI hook's fence
 * (whose client gives up after 10 s), the pipeline's workers and the reconciler's corrections.
 * A write that failed (the broker or the topic's leader away longer than {@code delivery.timeout.ms})
 * is written again by {@link #retryFailed} (every resync) instead of being lost until that
 * container changes state, which may be never: a restarted netfence would then not know the
 * container. Writes of a key coalesce while queued (only the newest value is sent), so a newer
 * write always supersedes an older one and the queue holds each key at most once. A send that
 * times out waiting for the topic's metadata (the topic deleted, its metadata unavailable) fails
 * every later write at once until the next {@link #retryFailed}, which tries again: one metadata
 * wait per resync, not one per queued container (each of which the pipeline waits for).
 */
final class JournalWrites implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(JournalWrites.class);

    private enum State { QUEUED, SENT, FAILED }

    /**
     * A key's last write. Identity matters: each write is a new instance with a new generation.
     * {@code settled} completes when the broker acknowledged it or it failed; a write replaced while
     * still queued (never to be sent) settles with the one that replaced it.
     */
    private record Write(long generation, byte[] value, State state, CompletableFuture<Void> settled) {
        Write in(State s) {
            return new Write(generation, value, s, settled);
        }
    }

    private static final CompletableFuture<Void> SETTLED = CompletableFuture.completedFuture(null);

    private final Producer<byte[], byte[]> producer;
    private final String topic;
    private final Map<String, Write> pending = new ConcurrentHashMap<>();
    private final LinkedBlockingQueue<String> queue = new LinkedBlockingQueue<>();
    private final AtomicLong generations = new AtomicLong();
    private final Thread sender;
    private volatile boolean closing;
    /** The last send's metadata wait timed out: fail sends at once until {@link #retryFailed}. */
    private volatile RuntimeException metadataMissing;
    /** Writes failed since the last {@link #retryFailed}, and the last of them (container, cause). */
    private final java.util.concurrent.atomic.AtomicInteger failedSinceResync = new java.util.concurrent.atomic.AtomicInteger();
    private volatile String[] lastFailure = {"", ""};

    /** With the sender thread started. */
    JournalWrites(Producer<byte[], byte[]> producer, String topic) {
        this(producer, topic, true);
    }

    /** {@code startSender} false: nothing is sent until {@link #drain} (tests). */
    JournalWrites(Producer<byte[], byte[]> producer, String topic, boolean startSender) {
        this.producer = producer;
        this.topic = topic;
        this.sender = startSender ? new Thread(this::run, "netfence-journal-sender") : null;
        if (sender != null) {
            sender.setDaemon(true);
            sender.start();
        }
    }

    /** Queues the key's new value (null: a tombstone); it replaces any write of the key not yet acknowledged. Never blocks. */
    void write(String containerId, byte[] value) {
        boolean[] queued = new boolean[1];
        pending.compute(containerId, (k, before) -> {
            queued[0] = before != null && before.state() == State.QUEUED;
            // a write still queued is never sent itself: it settles with this one; but not one queued again
            // for its retry, whose failure settled it already: this write must not pass as acknowledged
            return new Write(generations.incrementAndGet(), value, State.QUEUED,
                    queued[0] && !before.settled().isDone() ? before.settled() : new CompletableFuture<>());
        });
        if (!queued[0]) {
            queue.add(containerId); // a queued key is sent with its newest value: not queued twice
        }
    }

    /**
     * Completes when the key's last write queued so far (or a newer one) is acknowledged, or has
     * failed (then it waits for {@link #retryFailed}); at once when nothing of the key is
     * pending. The pipeline commits an event's offset only after this, so a netfence killed
     * between the two redoes the event instead of forgetting the container. A failure (the
     * broker or the topic's leader away past {@code delivery.timeout.ms}, or the topic refusing
     * writes) settles too: waiting for the retry would hold every later event of the partition
     * (new containers unenforced) for as long as the journal is down; the retry is in memory, so a
     * netfence killed before it lands forgets that container (logged at the failure). Never blocks.
     */
    CompletableFuture<Void> settled(String containerId) {
        Write w = pending.get(containerId);
        return w == null ? SETTLED : w.settled();
    }

    /** Queues again every key whose last write failed; how many. Never blocks. */
    int retryFailed() {
        metadataMissing = null; // one send waits for the metadata again; the rest follow it
        int failures = failedSinceResync.getAndSet(0);
        String[] last = lastFailure; // one read: container and cause of the same failure
        List<String> again = new ArrayList<>();
        for (Map.Entry<String, Write> e : pending.entrySet()) {
            Write w = e.getValue();
            if (w.state() == State.FAILED && pending.replace(e.getKey(), w, w.in(State.QUEUED))) {
                queue.add(e.getKey());
                again.add(e.getKey());
            }
        }
        if (failures > 1) {
            LOG.warn("{} writes to {} failed since the last resync (the last: container {}, {}); {} entries written"
                    + " again now: {}", failures, topic, last[0], last[1], again.size(), firstIds(again));
        }
        return again.size();
    }

    private static String firstIds(List<String> ids) {
        return ids.size() <= 10 ? String.join(", ", ids)
                : String.join(", ", ids.subList(0, 10)) + " and " + (ids.size() - 10) + " more";
    }

    private void run() {
        while (!closing || !queue.isEmpty()) {
            try {
                String key = queue.poll(100, TimeUnit.MILLISECONDS);
                if (key != null) {
                    send(key);
                }
            } catch (InterruptedException e) {
                return;
            } catch (Throwable e) { // an Error too: a sender that ended would settle no write again, and stall commits
                LOG.error("the live-set journal's sender failed; it goes on", e);
            }
        }
    }

    /** Sends everything queued, on the caller's thread (tests without a sender thread). */
    void drain() {
        for (String key = queue.poll(); key != null; key = queue.poll()) {
            send(key);
        }
    }

    private void send(String key) {
        while (true) {
            Write w = pending.get(key);
            if (w == null || w.state() != State.QUEUED) {
                return;
            }
            Write sent = w.in(State.SENT);
            if (!pending.replace(key, w, sent)) {
                continue; // a newer write of the key came meanwhile: send that one
            }
            RuntimeException missing = metadataMissing;
            if (missing != null) {
                completed(key, sent, missing);
                return;
            }
            try {
                java.util.concurrent.Future<?> f = producer.send(new ProducerRecord<>(topic,
                        key.getBytes(StandardCharsets.UTF_8), w.value()), (md, e) -> completed(key, sent, e));
                metadataMissing = metadataTimeout(f); // the client hands it to the callback and a failed future
            } catch (org.apache.kafka.common.errors.TimeoutException e) { // as some clients throw it
                metadataMissing = e;
                completed(key, sent, e);
            } catch (RuntimeException e) { // closed, or a send the client refused at once
                completed(key, sent, e);
            } catch (Error e) { // failed like a refused send, so the write settles and is retried; then thrown
                completed(key, sent, new IllegalStateException("the send failed: " + e, e));
                throw e;
            }
            return;
        }
    }

    /**
     * The failure of a send that failed before {@code send} returned because the topic's metadata
     * did not come within {@code max.block.ms} (KafkaProducer completes the callback and the future
     * at once); null for anything else (a delivery timeout fails the future later, not here).
     */
    private static RuntimeException metadataTimeout(java.util.concurrent.Future<?> f) {
        if (f == null || !f.isDone()) {
            return null;
        }
        try {
            f.get();
            return null;
        } catch (java.util.concurrent.ExecutionException e) {
            return e.getCause() instanceof org.apache.kafka.common.errors.TimeoutException t ? t : null;
        } catch (InterruptedException | java.util.concurrent.CancellationException e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            return null;
        }
    }

    /**
     * An acknowledged write settles; a failed one is kept to be written again at the next resync
     * and settles too (the pipeline must not stall behind the journal: see {@link #settled}), unless
     * a newer write of the key replaced it meanwhile: then it settles with that one.
     */
    private void completed(String key, Write sent, Exception e) {
        if (e == null) {
            pending.remove(key, sent);
            sent.settled().complete(null);
        } else if (closing) {
            // failed by the close: never to be retried by this process, so it does not settle (an event
            // waiting for it is not committed, and is redone after the restart: the container is not forgotten)
            pending.replace(key, sent, sent.in(State.FAILED));
        } else if (pending.replace(key, sent, sent.in(State.FAILED))) {
            failed(key, e, "written again at the next resync");
            sent.settled().complete(null);
        } else {
            failed(key, e, "a newer entry of it follows");
            Write newer = pending.get(key);
            if (newer == null) {
                sent.settled().complete(null);
            } else {
                newer.settled().whenComplete((v, x) -> sent.settled().complete(null));
            }
        }
    }

    /**
     * A failed write, logged once per resync at WARN (the first failure since the last resync, with
     * its container), the others at DEBUG and summed up by the next {@link #retryFailed}: a topic
     * that fails every write would otherwise log a line per live container per resync.
     */
    private void failed(String key, Exception e, String then) {
        boolean first = failedSinceResync.getAndIncrement() == 0;
        lastFailure = new String[] {key, e.toString()};
        if (first) {
            LOG.warn("writing the live-set entry of container {} to {} failed ({}); {} (further failures until the"
                    + " next resync are summed up then)", key, topic, e.toString(), then);
        } else {
            LOG.debug("writing the live-set entry of container {} to {} failed ({}); {}", key, topic, e.toString(), then);
        }
    }

    /**
     * Waits (up to a minute) until the sender has handed over every write queued so far, then
     * until the producer has them acknowledged or failed.
     */
    void flush() throws InterruptedException {
        if (sender == null) {
            drain();
        }
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
        while ((!queue.isEmpty() || pending.values().stream().anyMatch(w -> w.state() == State.QUEUED))
                && System.nanoTime() - deadline < 0) {
            Thread.sleep(1);
        }
        producer.flush();
    }

    /** How many keys' last write is queued, not acknowledged yet, or failed. */
    int unwrittenCount() {
        return pending.size();
    }

    /** The keys whose last write is queued, not acknowledged yet, or failed. */
    List<String> unwritten() {
        return new ArrayList<>(pending.keySet());
    }

    /**
     * Lets the sender hand over what is queued, then closes the producer, both within
     * {@code timeout} (what is not acknowledged by then is failed by the producer); logs the
     * containers whose entry did not reach the topic, and returns them. What failed before is not
     * queued again here.
     */
    List<String> close(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        closing = true;
        if (sender != null) {
            try {
                sender.join(Math.max(1, timeout.toMillis() / 2));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            sender.interrupt();
        }
        producer.close(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
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
