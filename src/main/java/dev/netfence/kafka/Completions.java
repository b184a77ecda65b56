package dev.netfence.kafka;

import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Hands work from worker threads and producer callbacks to the poll thread, which alone touches
 * the offset bookkeeping and the consumer: others {@link #post}, the poll thread {@link #runAll}.
 */
final class Completions {
    private final ConcurrentLinkedQueue<Runnable> queue = new ConcurrentLinkedQueue<>();

    void post(Runnable r) {
        queue.add(r);
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
