package dev.netfence.nft;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Closes the netlink sockets and frees the libnftables contexts of namespace trips later, on
 * threads of its own, once their namespace has been quiet for a while, so that neither a
 * namespace thread nor the namespace's next transaction waits for a close. The kernel makes the
 * close of a {@code NETLINK_NETFILTER} socket wait (in {@code nft_rcv_nl_event}, holding the
 * namespace's nftables commit mutex, which every transaction of that namespace takes) until
 * nf_tables' deferred destruction of the namespace's last committed transactions is done, which
 * takes an RCU grace period: measured here, 13-14 ms of sleep after every transaction that
 * replaced netfence's table, against 1.6 ms of CPU for the whole transaction. Closed on the
 * namespace thread, every apply paid it before reporting; closed at once on another thread, the
 * next apply into the same namespace waited for the mutex instead.
 *
 * <p>So a trip's closes (its libnftables context, the census's sockets, the generation socket)
 * are gathered in a {@link Batch} and parked under the trip's namespace. They run on a closer
 * when no batch has come there for {@code quiet} (by then the destruction is done and a close
 * costs microseconds), or when the oldest has waited {@code 50 * quiet} however busy the
 * namespace is. A writing trip first {@link #settle settles} a namespace where
 * {@code perNamespace} batches are parked (one written to without a pause), on its caller's
 * thread: one wait, and the others find nothing to wait for. Beyond {@code perNamespace} parked
 * in one namespace or {@code limit} in all, a batch goes to a closer at once (which may wait, and
 * a trip into its namespace with it); beyond {@code 2 * limit} batches outstanding, and after
 * {@link #close}, it runs on the caller's thread, as before: back-pressure, never a leak. Nothing
 * else changes: the commit is visible before the close, and a closer never enters a namespace
 * (a descriptor is closed from any thread; every closer thread is started by the constructor,
 * because a thread inherits the network namespace of the thread that starts it, and the one that
 * parks is away from home). A close that throws is ignored (it changes nothing netfence relies
 * on) and does not keep the others from running.
 */
final class DeferredCloses implements AutoCloseable {
    private final ScheduledThreadPoolExecutor pool;
    private final long quietNanos;
    private final long maxAgeNanos;
    private final int perNamespace;
    private final int limit;
    private final Map<Object, Parked> parked = new HashMap<>(); // guarded by this
    private final ArrayDeque<List<Runnable>> handed = new ArrayDeque<>(); // for a closer at once; guarded by this
    private int outstanding; // batches parked or handed and not yet run; guarded by this
    private int parkedBatches; // guarded by this
    private boolean closed; // guarded by this

    /** The batches parked under one namespace, when the first and the last came. */
    private static final class Parked {
        final ArrayDeque<List<Runnable>> batches = new ArrayDeque<>();
        long first;
        long last;
    }

    /**
     * {@code threads} closers, 30 ms of quiet (two grace periods here), 1.5 s of age at most, 128
     * batches parked per namespace and 256 in all: a namespace written to without a pause waits
     * once per 128 trips (a grace period or two, 14-35 ms here). What a batch holds sits at
     * descriptor numbers of 1024 or more (raw sockets moved there when handed over, a context's
     * socket copied there and the context freed at once: {@link ContextSockets}), away from the
     * numbers below 1024 that libnftables waits on with {@code select(2)} (a context whose socket
     * got 1024 or more aborts the process: glibc's fortified FD_SET). Where a context's socket is
     * not known the whole context is parked, holding its low number until it runs: then
     * {@link InProcessNft} keeps the limits at 32 and 64.
     */
    DeferredCloses(int threads) {
        this(threads, QUIET, 128, 256);
    }

    /** How long a namespace is quiet before its batches run: two grace periods here. */
    static final Duration QUIET = Duration.ofMillis(30);

    DeferredCloses(int threads, Duration quiet, int perNamespace, int limit) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, was " + threads);
        }
        if (quiet.isNegative() || quiet.isZero()) {
            throw new IllegalArgumentException("quiet must be positive, was " + quiet);
        }
        if (perNamespace < 1 || limit < perNamespace) {
            throw new IllegalArgumentException("perNamespace must be at least 1 and limit at least perNamespace, were "
                    + perNamespace + " and " + limit);
        }
        this.quietNanos = quiet.toNanos();
        this.maxAgeNanos = 50 * quietNanos;
        this.perNamespace = perNamespace;
        this.limit = limit;
        AtomicInteger count = new AtomicInteger();
        AtomicBoolean starting = new AtomicBoolean(true);
        this.pool = new ScheduledThreadPoolExecutor(threads, r -> {
            if (!starting.get()) {
                return null; // never a thread started later, perhaps from a namespace thread away from home
            }
            Thread t = new Thread(r, "netfence-nft-close-" + count.incrementAndGet());
            t.setDaemon(true);
            return t;
        }, new ThreadPoolExecutor.DiscardPolicy()); // after close: what a task would have run, close ran
        try {
            pool.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
            pool.prestartAllCoreThreads();
        } finally {
            starting.set(false);
        }
        if (pool.getPoolSize() != threads) {
            pool.shutdown();
            throw new IllegalStateException("started " + pool.getPoolSize() + " of " + threads + " closer threads");
        }
    }

    /**
     * The closes of one trip into {@code namespace} (any key equal for the same namespace),
     * gathered on the trip's thread ({@link Closer}) and parked together by {@link Batch#close},
     * to run in the order they were made. Not thread-safe.
     */
    final class Batch implements Closer, AutoCloseable {
        private final Object namespace;
        private final List<Runnable> closes = new ArrayList<>(4);
        private boolean parkedAlready;

        private Batch(Object namespace) {
            this.namespace = namespace;
        }

        @Override
        public void close(Runnable close) {
            if (parkedAlready) {
                runQuietly(close);
            } else {
                closes.add(close);
            }
        }

        /**
         * Moves {@code fd} to a number of 1024 or more first (closing the low copy is not the
         * socket's last close, so it does not wait), where a parked socket takes no number
         * libnftables' {@code select(2)} needs; where it cannot be moved (no free number there)
         * it is closed here and now, where it may wait, rather than parked below 1024.
         */
        @Override
        public void closeSocket(int fd) {
            int high = parkedAlready ? -1 : dev.netfence.netns.NativeDescriptors.keptHigh(fd);
            if (high < 0) {
                dev.netfence.netns.NativeDescriptors.closeQuietly(fd);
            } else {
                close(() -> dev.netfence.netns.NativeDescriptors.closeQuietly(high));
            }
        }

        /** Parks the gathered closes (or runs them here: see the class comment). */
        @Override
        public void close() {
            if (!parkedAlready) {
                parkedAlready = true;
                if (!closes.isEmpty()) {
                    park(namespace, List.copyOf(closes));
                }
            }
        }
    }

    /** A new batch for one trip into {@code namespace}. */
    Batch batch(Object namespace) {
        return new Batch(namespace);
    }

    /** Batches parked or waiting for a closer, not yet run (for tests). */
    synchronized int outstanding() {
        return outstanding;
    }

    private void park(Object namespace, List<Runnable> batch) {
        boolean here = false;
        boolean hand = false;
        Parked check = null;
        synchronized (this) {
            if (closed || outstanding >= 2 * limit) {
                here = true;
            } else {
                outstanding++;
                long now = System.nanoTime();
                Parked p = parked.get(namespace);
                if (p != null) {
                    p.last = now; // busy: what is parked there waits for quiet all the same
                }
                if (parkedBatches >= limit || (p != null && p.batches.size() >= perNamespace)) {
                    handed.add(batch);
                    hand = true;
                } else {
                    if (p == null) {
                        p = new Parked();
                        p.first = now;
                        p.last = now;
                        parked.put(namespace, p);
                        check = p;
                    }
                    p.batches.add(batch);
                    parkedBatches++;
                }
            }
        }
        if (here) {
            batch.forEach(DeferredCloses::runQuietly);
        } else if (hand) {
            pool.execute(this::runHanded);
        } else if (check != null) {
            Parked p = check;
            pool.schedule(() -> check(namespace, p), quietNanos, TimeUnit.NANOSECONDS);
        }
    }

    /**
     * Called by a writing trip into {@code namespace} before it leaves, on its caller's thread:
     * when {@code perNamespace} batches or more are parked there (a namespace written to without a
     * pause), runs them here, for up to {@code budget}, and hands what is left to a closer. The
     * first close waits out the grace period of the last transaction; the others then find
     * nothing to wait for unless something commits in between (the workload may). One wait per
     * {@code perNamespace} trips into a namespace never quiet, where closing each batch at once
     * made every trip wait for the commit mutex a closer held.
     */
    void settle(Object namespace, Duration budget) {
        List<List<Runnable>> due;
        synchronized (this) {
            Parked p = parked.get(namespace);
            if (p == null || p.batches.size() < perNamespace) {
                return;
            }
            parked.remove(namespace);
            due = new ArrayList<>(p.batches);
            parkedBatches -= due.size();
        }
        long start = System.nanoTime();
        for (int i = 0; i < due.size(); i++) {
            if (System.nanoTime() - start > budget.toNanos()) {
                List<List<Runnable>> rest = due.subList(i, due.size());
                synchronized (this) {
                    handed.addAll(rest);
                }
                for (int j = 0; j < rest.size(); j++) {
                    pool.execute(this::runHanded);
                }
                return;
            }
            run(due.get(i));
        }
    }

    /** Runs the batches parked as {@code p} once its namespace is quiet or its oldest too old, else looks again then. */
    private void check(Object namespace, Parked p) {
        List<List<Runnable>> due = null;
        long wait = 0;
        synchronized (this) {
            if (parked.get(namespace) != p) {
                return; // settled or closed meanwhile; a later park schedules its own check
            }
            long now = System.nanoTime();
            wait = Math.min(quietNanos - (now - p.last), maxAgeNanos - (now - p.first));
            if (wait <= 0 || closed) {
                parked.remove(namespace);
                due = new ArrayList<>(p.batches);
                parkedBatches -= due.size();
            }
        }
        if (due == null) {
            pool.schedule(() -> check(namespace, p), wait, TimeUnit.NANOSECONDS);
        } else {
            due.forEach(this::run);
        }
    }

    private void runHanded() {
        List<Runnable> batch;
        synchronized (this) {
            batch = handed.poll();
        }
        if (batch != null) {
            run(batch);
        }
    }

    private void run(List<Runnable> batch) {
        try {
            batch.forEach(DeferredCloses::runQuietly);
        } finally {
            synchronized (this) {
                outstanding--;
            }
        }
    }

    private static void runQuietly(Runnable close) {
        try {
            close.run();
        } catch (RuntimeException ignored) {
            // a failed close changes nothing netfence relies on; the others still run
        }
    }

    /**
     * Runs every parked and handed batch now, on this thread, and stops the closers (waiting up
     * to 5 s for those running); later batches run on their callers' threads.
     */
    @Override
    public void close() {
        List<List<Runnable>> all = new ArrayList<>();
        synchronized (this) {
            closed = true;
            parked.values().forEach(p -> all.addAll(p.batches));
            parked.clear();
            parkedBatches = 0;
            all.addAll(handed);
            handed.clear();
        }
        all.forEach(this::run);
        pool.shutdown();
        try {
            pool.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
