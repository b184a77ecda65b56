package dev.netfence.kafka;

import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Hands work from worker threads and producer callbacks to the poll thread, which alone touches
 * the offset bookkeeping and the consumer: others {@link #post}, the poll thread {@link #runAll}.
 * Each post also runs the {@code posted} hook (the pipeline's {@link PollWaker#wake}), after the
 * work is queued, so a poll thread blocked in {@code poll()} comes to run it at once.
 */
final class Completions {
    private final ConcurrentLinkedQueue<Runnable> queue = new ConcurrentLinkedQueue<>();
    private final Runnable posted;

    Completions() {
        this(() -> { });
    }

    Completions(Runnable posted) {
        this.posted = posted;
    }

    void post(Runnable r) {
        queue.add(r);
        posted.run();
    }

    /** Whether something was posted and has not run yet. */
    boolean pending() {
        return !queue.isEmpty();
    }

    /** Runs everything posted so far, in order; returns how many ran. */
    int runAll() {
        int n = 0;
        Runnable r;
        while ((r = queue.poll()) != null) {
            r.run();
            n++;
        }
        return n;
    }
}
