package dev.netfence.nft;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionHandler;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Closes the netlink sockets and frees the libnftables contexts of namespace trips on threads of
 * its own, so that a namespace thread never sleeps in {@code close(2)}. The kernel makes the close
 * of a {@code NETLINK_NETFILTER} socket wait (in {@code nft_rcv_nl_event}, holding the
 * namespace's nftables commit mutex) until nf_tables' deferred destruction of that namespace's
 * last committed transaction is done, which takes an RCU grace period: measured here, 13-14 ms of
 * sleep after every transaction that replaced netfence's table, against 1.6 ms of CPU for the
 * whole transaction. A trip gathers its closes (its libnftables context, the census's socket, the
 * generation socket) in a {@link Batch}, handed over as one task when the trip is done: the first
 * close waits for the grace period, the others then find nothing to wait for, so one closer
 * thread is busy about one grace period per trip. Nothing else changes: the commit is visible
 * before the close, and a closer never enters a namespace (a descriptor is closed from any
 * thread). When every closer is busy and the queue is full, or after {@link #close}, the batch
 * runs on the caller's thread, as before (back-pressure, never a leak).
 */
final class DeferredCloses implements AutoCloseable {
    private static final RejectedExecutionHandler ON_CALLER = (task, pool) -> task.run();
    private final ThreadPoolExecutor pool;

    /**
     * {@code threads} closer threads (daemons), all started here, on the constructing thread, and
     * up to {@code 16 * threads} batches waiting for one. No thread is ever started later: the
     * handing-over thread is a namespace thread away from home, and a thread inherits the network
     * namespace of the thread that starts it. A closer that dies is not replaced (its closes run
     * on the callers' threads).
     */
    DeferredCloses(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, was " + threads);
        }
        AtomicInteger count = new AtomicInteger();
        AtomicBoolean starting = new AtomicBoolean(true);
        this.pool = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(16 * threads), r -> {
                    if (!starting.get()) {
                        return null;
                    }
                    Thread t = new Thread(r, "netfence-nft-close-" + count.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                }, ON_CALLER);
        this.pool.prestartAllCoreThreads();
        starting.set(false);
    }

    /**
     * The closes of one trip, gathered on the trip's thread ({@link Closer}) and handed over
     * together by {@link Batch#close}, in the order they were made. Not thread-safe.
     */
    final class Batch implements Closer, AutoCloseable {
        private final java.util.List<Runnable> closes = new java.util.ArrayList<>(4);
        private boolean handedOver;

        private Batch() {}

        @Override
        public void close(Runnable close) {
            if (handedOver) {
                close.run();
            } else {
                closes.add(close);
            }
        }

        /** Hands the gathered closes to a closer thread (or runs them here: see the class comment). */
        @Override
        public void close() {
            if (handedOver) {
                return;
            }
            handedOver = true;
            if (!closes.isEmpty()) {
                java.util.List<Runnable> all = java.util.List.copyOf(closes);
                pool.execute(() -> all.forEach(Runnable::run));
            }
        }
    }

    /** A new batch for one trip. */
    Batch batch() {
        return new Batch();
    }

    /** Batches waiting for a closer thread or running now (for tests). */
    int pending() {
        return pool.getQueue().size() + pool.getActiveCount();
    }

    /** Lets the batches already handed over finish (up to 5 s); later ones run on the caller's thread. */
    @Override
    public void close() {
        pool.shutdown();
        try {
            pool.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
