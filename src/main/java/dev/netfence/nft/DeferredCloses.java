package dev.netfence.nft;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledThreadPoolExecutor;
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
 * next apply into the same namespace waited for the mutex instead. So a trip's closes (its
 * libnftables context, the census's socket, the generation socket) are gathered in a
 * {@link Batch} and parked under the trip's namespace; they are run when no batch has been parked
 * there for {@code quiet} (by then the destruction is done, and a close costs microseconds); by
 * the next trip into that namespace itself, before it writes, when {@code perNamespace} are
 * parked there ({@link #settle}: a namespace never quiet); at once on a closer when {@code limit}
 * are parked in all (the closer may then wait, and a trip into its namespace with it). Nothing
 * else changes: the commit is visible before the close, and a closer never enters a namespace
 * (a descriptor is closed from any thread; every closer thread is started by the constructor,
 * because a thread inherits the network namespace of the thread that starts it, and the one that
 * parks is away from home). Beyond {@code 2 * limit} batches parked or waiting in all, and after
 * {@link #close}, a batch runs on the caller's thread, as before: back-pressure, never a leak.
 */
final class DeferredCloses implements AutoCloseable {
    private final ScheduledThreadPoolExecutor pool;
    private final long quietNanos;
    private final int perNamespace;
    private final int limit;
    private final Map<Object, Parked> parked = new HashMap<>(); // guarded by this
    private int outstanding; // batches parked or handed to a closer and not yet run; guarded by this
    private int parkedBatches; // guarded by this
    private boolean closed; // guarded by this

    /** The batches parked under one namespace and when the last one came. */
    private static final class Parked {
        final ArrayDeque<List<Runnable>> batches = new ArrayDeque<>();
        long last;
    }

    /**
     * {@code threads} closers, 30 ms of quiet (two grace periods here), 32 batches parked per
     * namespace and 64 in all (up to about 200 sockets, 400 with those waiting for a closer). Few, because every parked socket holds a descriptor number, and
     * libnftables waits for its replies with {@code select(2)}, whose set ends at descriptor 1023
     * (a context whose socket got 1024 or more aborts the process: glibc's fortified FD_SET).
     */
    DeferredCloses(int threads) {
        this(threads, Duration.ofMillis(30), 32, 64);
    }

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
        }, (task, executor) -> task.run()); // after close: here (a check then finds every batch due)
        this.pool.prestartAllCoreThreads();
        starting.set(false);
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
                close.run();
            } else {
                closes.add(close);
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
        boolean here;
        boolean now = false;
        boolean check = false;
        synchronized (this) {
            here = closed || outstanding >= 2 * limit;
            if (!here) {
                outstanding++;
                Parked p = parked.get(namespace);
                now = parkedBatches >= limit;
                if (p != null) {
                    p.last = System.nanoTime(); // busy: what is parked there waits for quiet all the same
                }
                if (!now) {
                    if (p == null) {
                        p = new Parked();
                        parked.put(namespace, p);
                        check = true;
                    }
                    p.batches.add(batch);
                    p.last = System.nanoTime();
                    parkedBatches++;
                }
            }
        }
        if (here) {
            batch.forEach(Runnable::run);
            return;
        }
        if (now) {
            pool.execute(() -> run(batch));
        }
        if (check) {
            pool.schedule(() -> check(namespace), quietNanos, TimeUnit.NANOSECONDS);
        }
    }

    /**
     * Called by a trip into {@code namespace} before it writes anything: when {@code perNamespace}
     * batches or more are parked there (a namespace written to without a pause), runs them all
     * here, now. The first close may wait out the grace period of the last transaction, the others
     * then find nothing to wait for, and nothing commits in between (the caller writes next): one
     * wait per {@code perNamespace} trips into a namespace that is never quiet, where closing each
     * batch at once made every trip wait for the commit mutex a closer held.
     */
    void settle(Object namespace) {
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
        due.forEach(this::run);
    }

    /** Runs the batches of {@code namespace} if it has been quiet long enough, else looks again when it will have been. */
    private void check(Object namespace) {
        List<List<Runnable>> due;
        long wait;
        synchronized (this) {
            Parked p = parked.get(namespace);
            if (p == null) {
                return;
            }
            wait = quietNanos - (System.nanoTime() - p.last);
            if (wait > 0 && !closed) {
                due = null;
            } else {
                parked.remove(namespace);
                due = new ArrayList<>(p.batches);
                parkedBatches -= due.size();
            }
        }
        if (due == null) {
            pool.schedule(() -> check(namespace), wait, TimeUnit.NANOSECONDS);
        } else {
            due.forEach(this::run);
        }
    }

    private void run(List<Runnable> batch) {
        try {
            batch.forEach(Runnable::run);
        } finally {
            synchronized (this) {
                outstanding--;
            }
        }
    }

    /**
     * Runs every parked batch now, on this thread and the closers, and stops the closers (waiting
     * up to 5 s for those running); later batches run on their callers' threads.
     */
    @Override
    public void close() {
        List<List<Runnable>> all = new ArrayList<>();
        synchronized (this) {
            closed = true;
            parked.values().forEach(p -> all.addAll(p.batches));
            parked.clear();
            parkedBatches = 0;
        }
        all.forEach(this::run);
        for (Runnable r : pool.shutdownNow()) {
            r.run(); // a batch handed over at once, or a check that now finds nothing parked
        }
        try {
            pool.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
