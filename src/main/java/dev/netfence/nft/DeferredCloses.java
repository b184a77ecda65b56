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
 * whole transaction. A trip closed three sockets (its libnftables context, the census's, the
 * generation socket), the first of them after the commit; closing them here instead takes that
 * sleep off the apply's latency and frees the namespace thread for the next trip. Nothing else
 * changes: the commit is visible before the close, and a closer never enters a namespace (a
 * descriptor is closed from any thread). When every closer is busy and the queue is full, or
 * after {@link #close}, the close runs on the caller's thread, as before (back-pressure, never a
 * leak). {@link #INLINE} closes on the caller's thread always: for sockets outside trips.
 */
final class DeferredCloses implements AutoCloseable {
    /** Closes on the calling thread. */
    static final DeferredCloses INLINE = new DeferredCloses();

    private static final RejectedExecutionHandler ON_CALLER = (task, pool) -> task.run();
    private final ThreadPoolExecutor pool;

    private DeferredCloses() {
        this.pool = null;
    }

    /**
     * {@code threads} closer threads (daemons), all started here, on the constructing thread, and
     * up to {@code 16 * threads} closes waiting for one. No thread is ever started later: the
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

    /** Runs {@code close} on a closer thread, or on this one (see the class comment). Never throws for a full queue. */
    void run(Runnable close) {
        if (pool == null) {
            close.run();
        } else {
            pool.execute(close);
        }
    }

    /** Closes waiting for a closer thread or running now (for tests). */
    int pending() {
        return pool == null ? 0 : pool.getQueue().size() + pool.getActiveCount();
    }

    /** Lets the closes already handed over finish (up to 5 s); later ones run on the caller's thread. */
    @Override
    public void close() {
        if (pool == null) {
            return;
        }
        pool.shutdown();
        try {
            pool.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
