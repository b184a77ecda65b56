package dev.netfence.nft;

import com.sun.jna.LastErrorException;
import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.OwnNamespace;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A few dedicated platform threads that visit container namespaces: each trip is
 * {@code setns(pinnedFd, CLONE_NEWNET)}, a check that the thread's namespace
 * ({@code /proc/thread-self/ns/net}) is the pinned one by device and inode, the work, then
 * {@code setns} back to netfence's own namespace and the same check against it. Only the calling
 * thread changes namespace (network namespaces are per thread), and only these threads ever do,
 * so no other thread of netfence (Kafka clients, the HTTP server, logging) can find itself in a
 * container's namespace. A thread that cannot prove it is home (the {@code setns} back failed or
 * the inode differs) is never reused: it finishes the trip's result and ends, and a new thread
 * takes its place ({@link #replaced()} counts them). While away a thread does no logging and no
 * I/O but the namespace's own netlink, the {@code /proc} reads of the checks and of its ICMPv6
 * counters, and the writes to its {@code /proc/sys/net/ipv4|ipv6/route/flush}: failures travel
 * back as values and are reported by the caller, at home. Removing routes and addresses takes the
 * kernel's host-wide rtnl lock, which any process holding CAP_NET_ADMIN in some namespace can hold
 * for a while: such a trip is abandoned at its deadline as any other.
 *
 * <p>The caller blocks until its trip is over or its deadline passes. A trip that has not
 * started by then (or when the caller is interrupted) is withdrawn (TIMEOUT, INTERNAL). One that
 * has started but not yet entered the namespace is cancelled: the thread enters (the caller's pin
 * must outlive the {@code setns}, so the caller waits for that: the descriptor number would
 * otherwise be free for reuse while the thread is about to enter it), does nothing there and
 * comes home, and the caller gets TIMEOUT (or what entering failed with); a thread that takes a
 * trip up after its deadline does the same. One that is inside is abandoned (TIMEOUT): the work
 * cannot be stopped (libnftables restarts a listing that any commit interrupts, without limit, so
 * a workload committing nonstop keeps it going), so a new thread takes the abandoned one's place
 * (while at most {@link #MAX_ABANDONED} are abandoned; past that the pool runs a thread short
 * until the trip ends, and then that thread carries on) and the abandoned one ends once its trip
 * is over and it is home. Until then trips into that namespace are refused (LOCK_CONTENDED),
 * those queued before included. A trip on its way home (its work done) is waited for, and so is
 * a trip into a fresh namespace ({@link #runInFreshNamespace}), which no workload can reach. A
 * trip can mark itself on its way home ({@link #leaving}) before a last step that must not happen
 * once its caller is gone.
 * Failures of the trip machinery are sorted like the rest of netfence: {@code setns} refused for
 * lack of privilege is FIREWALL_UNAVAILABLE (permanent), a namespace other than the pinned one
 * after {@code setns} is INTERNAL (permanent; it would mean a descriptor mix-up), an exception
 * thrown by the work is passed through when it is an {@link EnforcementException} and INTERNAL
 * otherwise.
 */
public final class NamespaceThreads implements AutoCloseable {
    private static final Path THREAD_NS = Path.of("/proc/thread-self/ns/net");
    private static final int EPERM = 1;
    private static final int FRESH = -2;
    /** The most trips left running past their deadline at a time that a new thread replaces (past that the pool runs short until they end). */
    static final int MAX_ABANDONED = 64;

    /** The work done inside the target namespace, on a namespace thread. It must not log. */
    @FunctionalInterface
    public interface Trip<T> {
        T inside(NativeCalls natives) throws Exception;
    }

    private final NativeCalls natives;
    private final AbandonedTrips abandonedTrips;
    private final OwnNamespace home;
    private final NamespaceId homeId;
    private final LinkedBlockingQueue<TripTask<?>> queue = new LinkedBlockingQueue<>();
    private final AtomicInteger names = new AtomicInteger();
    private final AtomicLong replaced = new AtomicLong();
    /** The trip a namespace thread is on, for {@link #leaving}. */
    private final ThreadLocal<TripTask<?>> current = new ThreadLocal<>();
    /** Deadlines are instants of the process's steady clock (an event's, a correction's), never the wall clock's. */
    private final java.time.Clock deadlines = dev.netfence.core.SteadyClock.system();
    private volatile boolean closed;

    /** {@code threads} threads that return to {@code home} after each trip. */
    public NamespaceThreads(NativeCalls natives, OwnNamespace home, int threads) {
        this(natives, home, home.id(), threads, MAX_ABANDONED);
    }

    /**
     * As above, checking home against {@code homeId} (a wrong one makes every thread fail its
     * check: tests), with a new thread for each of at most {@code maxAbandoned} abandoned trips.
     */
    NamespaceThreads(NativeCalls natives, OwnNamespace home, NamespaceId homeId, int threads, int maxAbandoned) {
        if (maxAbandoned < 0) {
            throw new IllegalArgumentException("maxAbandoned must be at least 0, was: " + maxAbandoned);
        }
        this.abandonedTrips = new AbandonedTrips(maxAbandoned);
        this.natives = Objects.requireNonNull(natives, "natives");
        this.home = Objects.requireNonNull(home, "home");
        this.homeId = Objects.requireNonNull(homeId, "homeId");
        if (threads < 1 || threads > 256) {
            throw new IllegalArgumentException("threads must be 1-256, was: " + threads);
        }
        for (int i = 0; i < threads; i++) {
            start();
        }
    }

    /**
     * Runs {@code trip} inside the namespace held by descriptor {@code fd} (or, when {@code fd} is
     * -1, by a descriptor the thread opens from {@code path} and closes before going home), which
     * must be {@code expected}; waits for it (see the class comment).
     */
    public <T> T run(int fd, Path path, NamespaceId expected, Instant deadline, Trip<T> trip) {
        return run(fd, path, expected, deadline, trip, () -> { });
    }

    /**
     * As {@link #run(int, Path, NamespaceId, Instant, Trip)}, and runs {@code meanwhile} on the
     * calling thread once the trip is queued, so that work of the caller's own overlaps the trip.
     * What it throws is thrown once the trip is over (suppressed in the trip's failure, if any).
     */
    public <T> T run(int fd, Path path, NamespaceId expected, Instant deadline, Trip<T> trip, Runnable meanwhile) {
        Objects.requireNonNull(expected, "expected");
        Objects.requireNonNull(trip, "trip");
        if (closed) {
            throw new EnforcementException(ErrorCode.INTERNAL, "the namespace threads are shut down");
        }
        if (fd != FRESH && abandonedTrips.into(expected)) {
            throw AbandonedTrips.refusal(expected);
        }
        TripTask<T> task = new TripTask<>(fd, path, expected, trip, deadline.toEpochMilli(), deadlines);
        queue.add(task);
        Throwable aside = null;
        try {
            meanwhile.run();
        } catch (RuntimeException | Error e) { // not thrown yet: the caller's turn in the namespace lasts the trip
            aside = e;
        }
        try {
            T value = await(task, expected, deadline);
            if (aside == null) {
                return value;
            }
        } catch (RuntimeException | Error e) {
            if (aside != null) {
                e.addSuppressed(aside);
            }
            throw e;
        }
        if (aside instanceof Error e) {
            throw e;
        }
        throw (RuntimeException) aside;
    }

    private <T> T await(TripTask<T> task, NamespaceId expected, Instant deadline) {
        try {
            long waitNanos = Math.max(0, deadline.toEpochMilli() - deadlines.millis()) * 1_000_000L;
            return task.result.get(waitNanos, TimeUnit.NANOSECONDS).unwrap();
        } catch (TimeoutException e) {
            if (task.withdraw()) {
                throw new EnforcementException(ErrorCode.TIMEOUT, "no namespace thread was free before the deadline");
            }
            if (giveUp(task)) {
                throw new EnforcementException(ErrorCode.TIMEOUT, "the trip into namespace " + expected
                        + " did not finish before the deadline; left to finish on a thread of its own");
            }
            return task.awaitUninterruptibly().unwrap();
        } catch (InterruptedException e) {
            if (task.withdraw()) {
                Thread.currentThread().interrupt();
                throw new EnforcementException(ErrorCode.INTERNAL, "interrupted waiting for a namespace thread", e);
            }
            if (giveUp(task)) {
                Thread.currentThread().interrupt();
                throw new EnforcementException(ErrorCode.INTERNAL, "interrupted; the trip into namespace " + expected
                        + " is left to finish on a thread of its own", e);
            }
            try {
                return task.awaitUninterruptibly().unwrap();
            } finally {
                Thread.currentThread().interrupt(); // a cancelled trip's TIMEOUT included
            }
        } catch (ExecutionException e) {
            throw new IllegalStateException("trips complete normally", e);
        }
    }

    /**
     * Runs {@code trip} in a new, empty namespace of its own ({@code unshare(CLONE_NEWNET)} on the
     * namespace thread; the namespace disappears when the thread goes home): a place to try
     * something out without touching any real namespace, e.g. whether the kernel accepts an nft
     * transaction at all.
     */
    public <T> T runInFreshNamespace(Instant deadline, Trip<T> trip) {
        return run(FRESH, null, homeId, deadline, trip);
    }

    /** How many trips were abandoned past their deadline and are still running. */
    public int abandoned() {
        return abandonedTrips.count();
    }

    /**
     * Gives up on a trip a thread has begun: cancels it when it is not yet inside (false: its
     * answer, TIMEOUT, comes as soon as the thread is home), abandons it when it is (true: its
     * namespace is marked, and a thread is started in its place while at most
     * {@link #MAX_ABANDONED} are abandoned: {@link AbandonedTrips}), else (on its way home) false.
     */
    private boolean giveUp(TripTask<?> task) {
        if (task.cancel()) {
            return false;
        }
        if (task.fd == FRESH || !abandonedTrips.abandon(task, () -> closed)) {
            return false;
        }
        if (task.replaced) {
            start();
        }
        return true;
    }

    /**
     * For a trip, on its namespace thread: marks it on its way home, so that it is no longer
     * abandoned at its caller's deadline; false when it already was (its caller has gone: a step
     * that only matters to the caller, such as keeping a socket for it, is better left out).
     */
    boolean leaving() {
        TripTask<?> task = current.get();
        return task == null || task.leave();
    }

    /** How many threads were discarded because they could not prove they were home. */
    public long replaced() {
        return replaced.get();
    }

    @Override
    public void close() {
        closed = true;
        TripTask<?> t;
        while ((t = queue.poll()) != null) {
            if (t.withdraw()) {
                t.result.complete(TripTask.Result.failed(new EnforcementException(ErrorCode.INTERNAL,
                        "the namespace threads are shut down")));
            }
        }
        for (int i = 0; i < names.get(); i++) {
            queue.add(TripTask.POISON);
        }
    }

    private void start() {
        Thread t = new Thread(this::loop, "netfence-netns-" + names.incrementAndGet());
        t.setDaemon(true);
        t.start();
    }

    private void loop() {
        // first of all: a replacement started by a thread that could not prove it was home inherits that thread's
        // namespace and would idle in it until its first trip (it runs no trip without entering and proving home anyway)
        goHome();
        while (true) {
            TripTask<?> task;
            try {
                task = queue.take();
            } catch (InterruptedException e) {
                return;
            }
            if (task == TripTask.POISON || closed && task.state.get() != TripTask.QUEUED) {
                return;
            }
            if (!task.begin()) {
                continue;
            }
            if (task.fd != FRESH && abandonedTrips.into(task.expected)) { // queued before an earlier trip there was abandoned
                task.result.complete(TripTask.Result.failed(AbandonedTrips.refusal(task.expected)));
                task.finish();
                continue;
            }
            boolean atHome;
            try {
                atHome = travel(task);
            } catch (Throwable e) { // past travel's own catch (the way home): the caller must still hear back
                task.result.complete(TripTask.Result.failed(new EnforcementException(ErrorCode.INTERNAL,
                        "namespace thread failed on its way home: " + e, e)));
                atHome = false;
            }
            if (!task.finish()) { // abandoned
                abandonedTrips.released(task.expected);
                if (task.replaced) {
                    return; // a thread took this one's place at the abandonment
                }
            }
            if (!atHome) {
                if (!closed) {
                    start();
                }
                return; // this thread's namespace is unknown: it never runs another trip
            }
        }
    }

    /** Runs one trip; completes its result after the way home; returns whether home was proven. */
    private <T> boolean travel(TripTask<T> task) {
        TripTask.Result<T> result;
        int fd = task.fd;
        boolean opened = false;
        try {
            NamespaceId here;
            if (fd == FRESH) {
                natives.libc.unshare(NativeCalls.CLONE_NEWNET);
                here = NamespaceId.of(THREAD_NS);
            } else {
                if (fd < 0) {
                    fd = natives.libc.open(task.path.toString(), NativeCalls.O_RDONLY | NativeCalls.O_CLOEXEC);
                    opened = true;
                }
                natives.libc.setns(fd, NativeCalls.CLONE_NEWNET);
                here = NamespaceId.of(THREAD_NS);
            }
            if (fd == FRESH ? here.equals(homeId) : !here.equals(task.expected)) {
                result = TripTask.Result.failed(new EnforcementException(ErrorCode.INTERNAL,
                        "entered namespace " + here + " instead of the pinned " + task.expected));
            } else if (!task.enter()) {
                result = TripTask.Result.failed(new EnforcementException(ErrorCode.TIMEOUT, "the deadline passed before the "
                        + "trip entered namespace " + task.expected + "; nothing was done in it"));
            } else {
                current.set(task);
                try {
                    result = TripTask.Result.of(task.trip.inside(natives));
                } finally {
                    current.remove();
                }
            }
        } catch (LastErrorException e) {
            result = TripTask.Result.failed(new EnforcementException(e.getErrorCode() == EPERM
                    ? ErrorCode.FIREWALL_UNAVAILABLE : ErrorCode.INTERNAL,
                    "cannot enter the pinned namespace " + task.expected + ": " + e.getMessage(), e));
        } catch (EnforcementException e) {
            result = TripTask.Result.failed(e);
        } catch (Throwable e) { // an Error too: the caller must hear back and the bookkeeping below must run
            result = TripTask.Result.failed(new EnforcementException(ErrorCode.INTERNAL, "in namespace " + task.expected
                    + ": " + e, e));
        }
        task.leave();
        if (opened) {
            try {
                natives.libc.close(fd);
            } catch (LastErrorException ignored) {
                // a failed close of our own read-only descriptor changes nothing we rely on
            }
        }
        boolean atHome = goHome();
        if (!atHome) {
            replaced.incrementAndGet(); // counted before the caller hears back
        }
        task.result.complete(result);
        return atHome;
    }

    private boolean goHome() {
        try {
            natives.libc.setns(home.descriptor(), NativeCalls.CLONE_NEWNET);
            return NamespaceId.of(THREAD_NS).equals(homeId);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
