package dev.netfence.kafka;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs tasks on a fixed pool of worker threads so that tasks with the same key run one at a
 * time in submission order while tasks with different keys run concurrently. Each key's tasks
 * form a chain of futures; a key's chain is dropped once its last task finished, so the map
 * holds only keys with work outstanding. This is how events of one container stay in order
 * while different containers are enforced in parallel.
 */
final class KeyedExecutor implements AutoCloseable {
    private final ExecutorService pool;
    private final Map<String, CompletableFuture<Void>> tails = new ConcurrentHashMap<>();

    KeyedExecutor(int threads, String namePrefix) {
        AtomicInteger n = new AtomicInteger();
        this.pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, namePrefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** Runs {@code task} after every earlier task of {@code key}; a failed task does not stop the chain. */
    void submit(String key, Runnable task) {
        CompletableFuture<Void> tail = tails.compute(key, (k, previous) -> {
            CompletableFuture<Void> start = previous == null ? CompletableFuture.completedFuture(null) : previous;
            return start.thenRunAsync(task, pool).handle((v, e) -> null);
        });
        // registered outside compute(): a chain that is already complete runs this at once
        tail.thenRun(() -> tails.remove(key, tail));
    }

    /** Keys with work queued or running. */
    int activeKeys() {
        return tails.size();
    }

    /** Stops the workers, interrupting running tasks after {@code waitMillis}. */
    void shutdown(long waitMillis) {
        pool.shutdown();
        try {
            if (!pool.awaitTermination(waitMillis, TimeUnit.MILLISECONDS)) {
                pool.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            pool.shutdownNow();
        }
    }

    @Override
    public void close() {
        shutdown(0);
    }
}
