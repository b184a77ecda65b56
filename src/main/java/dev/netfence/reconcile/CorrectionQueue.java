package dev.netfence.reconcile;

import dev.netfence.event.Trigger;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.PriorityBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;

/**
 * The {@link Reconciler}'s pool of correction threads and its queue: policy updates and urgent
 * checks (priority 0) ahead of a resync's checks (1), each in the order queued
 * ({@link QueuedCorrection}); at most one correction of a kind queued per container (a policy
 * update, an urgent check, a resync check), so a container asked for again while one waits is
 * not queued twice; and at most one correction of a container running at a time: one taken from
 * the queue while another of its container runs waits beside it (the latest of each kind) and is
 * queued again when that one ends, instead of holding a thread on the container's lock, so a
 * correction that hangs (a read-back stuck in the kernel) holds one thread, not every thread as
 * resync after resync queues that container again. Thread-safe.
 */
final class CorrectionQueue {
    private final ThreadPoolExecutor pool;
    private final BiConsumer<String, Trigger> correct;
    private final Set<String> pendingUpdates = ConcurrentHashMap.newKeySet();
    private final Set<String> pendingChecks = ConcurrentHashMap.newKeySet();
    /** Checks queued ahead of a resync's (a pod member stopped): not dropped because a resync queued one. */
    private final Set<String> pendingUrgent = ConcurrentHashMap.newKeySet();
    private final AtomicLong sequence = new AtomicLong();
    /** Containers whose correction runs, and what was taken from the queue for them meanwhile (by kind). */
    private final java.util.Map<String, java.util.Map<String, QueuedCorrection>> running = new java.util.HashMap<>();
    private volatile boolean closed;

    /** {@code threads} threads running {@code correct(containerId, trigger)} for each queued correction. */
    CorrectionQueue(int threads, BiConsumer<String, Trigger> correct) {
        this.correct = correct;
        AtomicInteger n = new AtomicInteger();
        this.pool = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS, new PriorityBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "netfence-reconcile-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Queues a correction of {@code containerId}; {@code priority} 0 runs before resync checks (1);
     * {@code after} runs once it ran. False (and {@code after} never runs) when one of its kind is
     * already queued or the queue is closed.
     */
    boolean submit(String containerId, Trigger trigger, int priority, Runnable after) {
        Set<String> pending = trigger == Trigger.POLICY_UPDATE ? pendingUpdates
                : priority == 0 ? pendingUrgent : pendingChecks;
        if (closed || !pending.add(containerId)) {
            return false;
        }
        String kind = trigger == Trigger.POLICY_UPDATE ? "update" : priority == 0 ? "urgent" : "check";
        QueuedCorrection[] self = new QueuedCorrection[1];
        java.util.concurrent.atomic.AtomicBoolean dequeued = new java.util.concurrent.atomic.AtomicBoolean();
        self[0] = new QueuedCorrection(priority, sequence.incrementAndGet(), () -> {
            if (!dequeued.getAndSet(true)) {
                pending.remove(containerId); // once: queued again after waiting, it is no longer the pending one
            }
            boolean parked;
            QueuedCorrection replaced = null;
            synchronized (running) {
                java.util.Map<String, QueuedCorrection> waiting = running.get(containerId);
                parked = waiting != null;
                if (parked) { // another correction of this container runs: after it, not beside it
                    replaced = waiting.put(kind, self[0]);
                } else {
                    running.put(containerId, new java.util.LinkedHashMap<>());
                }
            }
            if (parked) {
                if (replaced != null) {
                    replaced.skip();
                }
                return;
            }
            try {
                correct.accept(containerId, trigger);
            } finally {
                try {
                    after.run();
                } finally {
                    finished(containerId);
                }
            }
        }, after);
        try {
            pool.execute(self[0]);
            return true;
        } catch (RuntimeException rejected) {
            pending.remove(containerId);
            return false;
        }
    }

    /** {@code containerId}'s correction ended: what waited for it is queued again. */
    private void finished(String containerId) {
        java.util.Map<String, QueuedCorrection> waited;
        synchronized (running) {
            waited = running.remove(containerId);
        }
        for (QueuedCorrection next : waited.values()) {
            try {
                pool.execute(next.again(sequence.incrementAndGet()));
            } catch (RuntimeException rejected) { // closing
                next.skip();
            }
        }
    }

    /** Corrections queued and not started. */
    int queued() {
        return pool.getQueue().size();
    }

    /**
     * Drops what is queued (each told it will not run, so nobody waits for it) and lets running
     * corrections finish (20 s at most: an interrupted one would report a failure that is not real).
     */
    void close() {
        closed = true;
        pool.shutdown(); // first: nothing queued after the drain below
        java.util.List<Runnable> dropped = new java.util.ArrayList<>();
        pool.getQueue().drainTo(dropped);
        skipAll(dropped);
        try {
            if (!pool.awaitTermination(20, TimeUnit.SECONDS)) {
                skipAll(pool.shutdownNow());
            }
        } catch (InterruptedException e) {
            skipAll(pool.shutdownNow());
            Thread.currentThread().interrupt();
        }
    }

    private static void skipAll(java.util.List<Runnable> dropped) {
        for (Runnable r : dropped) {
            try {
                ((QueuedCorrection) r).skip();
            } catch (RuntimeException e) { // the others are still told
                org.slf4j.LoggerFactory.getLogger(CorrectionQueue.class).warn("a dropped correction's callback failed", e);
            }
        }
    }
}
