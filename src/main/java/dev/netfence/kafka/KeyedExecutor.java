package dev.netfence.kafka;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Runs tasks on a fixed pool of worker threads so that tasks with the same key run one at a
 * time in submission order while tasks with different keys run concurrently. Each key's tasks
 * form a chain of futures; a key's chain is dropped once its last task finished, so the map
 * holds only keys with work outstanding. This is how events of one container stay in order
 * while different containers are enforced in parallel.
 *
 * <p>A task may also {@linkplain #submitAsync finish later}: it returns a stage, and the key's
 * next task starts only when that stage completes, while no thread is held meanwhile (an event
 * parked until its late policy arrives). After {@link #stopStarting()} tasks that have not
 * started are skipped (their records stay unacknowledged and are redelivered), which is what a
 * shutdown drain wants: finish what runs, start nothing new.
 */
final class KeyedExecutor implements AutoCloseable {
    private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);

    private final ExecutorService pool;
    private final Map<String, CompletableFuture<Void>> tails = new ConcurrentHashMap<>();
    private final AtomicInteger running = new AtomicInteger();
    private final Executor counted = this::runCounted;
    private final Executor continuations = this::runContinuation;
    private volatile boolean stopped;

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
        submitAsync(key, () -> {
            task.run();
            return DONE;
        });
    }

    /**
     * Runs {@code task} on a worker after every earlier task of {@code key} has finished, and
     * holds the key's later tasks until the stage it returns completes (normally or not).
     */
    void submitAsync(String key, Supplier<? extends CompletionStage<?>> task) {
        CompletableFuture<Void> tail = tails.compute(key, (k, previous) -> {
            CompletableFuture<Void> start = previous == null ? DONE : previous;
            return start.thenComposeAsync(v -> stopped ? DONE : task.get().thenApply(x -> (Void) null), counted)
                    .handle((v, e) -> (Void) null);
        });
        // registered outside compute(): a chain that is already complete runs this at once
        tail.thenRun(() -> tails.remove(key, tail));
    }

    /**
     * The workers as an {@link Executor} for continuations (a parked event's enforcement once its
     * policy arrives): counted in {@link #running()}, and refused once stopped.
     */
    Executor workers() {
        return continuations;
    }

    /**
     * A parked event woken after {@link #stopStarting()} (its policy arrived during the drain's
     * last seconds or after it) must not be enforced: its outcome could no longer be sent, so the
     * enforcement would be lost and redone by the next owner. Refused, its stage fails, and its
     * record stays unacknowledged and is redelivered.
     */
    private void runContinuation(Runnable r) {
        if (stopped) {
            throw new RejectedExecutionException("stopping: no enforcement starts any more");
        }
        runCounted(r);
    }

    /**
     * Counts {@code r} while it runs on a worker. After {@link #shutdown} the pool refuses it, and
     * the {@link RejectedExecutionException} goes back to the caller: the completable future that
     * scheduled it completes exceptionally with it (so a key's chain settles and is dropped, and a
     * parked event's stage fails and its record is redelivered); swallowed, the dependent would
     * never complete and the key would stay active for good. Nothing is counted for a refused task.
     */
    private void runCounted(Runnable r) {
        pool.execute(() -> {
            running.incrementAndGet();
            try {
                r.run();
            } finally {
                running.decrementAndGet();
            }
        });
    }

    /** Keys with work queued, running or parked. */
    int activeKeys() {
        return tails.size();
    }

    /** Tasks executing on a worker thread right now (parked ones are not). */
    int running() {
        return running.get();
    }

    /** From now on, tasks that have not started are skipped; running ones finish. */
    void stopStarting() {
        stopped = true;
    }

    boolean stopped() {
        return stopped;
    }

    /**
     * {@link #shutdown} was called: the pipeline stopped, what still runs is interrupted after its
     * wait, and nothing it finishes can be acknowledged any more.
     */
    boolean shutDown() {
        return pool.isShutdown();
    }

    /** Stops the workers, interrupting running tasks after {@code waitMillis}. */
    void shutdown(long waitMillis) {
        stopped = true;
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
