package dev.netfence.nft;

import dev.netfence.core.EnforcementException;
import dev.netfence.netns.NamespaceId;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One trip of {@link NamespaceThreads}, from the caller's hand-off to its answer: what to run
 * where, and its state, which the caller and the namespace thread move on with compare-and-set
 * only: queued, then withdrawn (by the caller, before any thread took it) or running; running,
 * then cancelled (by the caller at its deadline: the thread enters, does nothing, comes home) or
 * entered (by the thread, once inside the pinned namespace, the caller's descriptor no longer
 * needed); entered, then abandoned (by the caller at its deadline: the thread finishes alone) or
 * returning (by the thread, its work done or at {@link NamespaceThreads#leaving}); done at the
 * end, which tells the thread whether it was abandoned.
 */
final class TripTask<T> {
    static final int QUEUED = 0;
    static final int RUNNING = 1;
    static final int WITHDRAWN = 2;
    /** Inside the namespace: the caller's descriptor is no longer needed. */
    static final int ENTERED = 3;
    static final int ABANDONED = 4;
    static final int DONE = 5;
    /** Given up before it entered: the thread enters, does nothing, comes home. */
    static final int CANCELLED = 6;
    /** Its work done (or past the point it may be abandoned): on its way home. */
    static final int RETURNING = 7;
    static final TripTask<Object> POISON = new TripTask<>(-1, null, new NamespaceId(0, 0), n -> null, 0,
            java.time.Clock.systemUTC());

    final int fd;
    final Path path;
    final NamespaceId expected;
    final NamespaceThreads.Trip<T> trip;
    final AtomicInteger state = new AtomicInteger(QUEUED);
    final CompletableFuture<Result<T>> result = new CompletableFuture<>();
    /** The caller's deadline (epoch ms): a trip not yet inside by then is not entered into. */
    final long deadlineMillis;
    private final java.time.Clock deadlines;
    /** Set when abandoned: whether a new thread took this one's place (written under the abandoning lock, read after {@link #finish}). */
    volatile boolean replaced;

    TripTask(int fd, Path path, NamespaceId expected, NamespaceThreads.Trip<T> trip, long deadlineMillis,
            java.time.Clock deadlines) {
        this.deadlineMillis = deadlineMillis;
        this.deadlines = deadlines;
        this.fd = fd;
        this.path = path;
        this.expected = expected;
        this.trip = trip;
    }

    boolean begin() {
        return state.compareAndSet(QUEUED, RUNNING);
    }

    boolean withdraw() {
        return state.compareAndSet(QUEUED, WITHDRAWN);
    }

    /** Inside the namespace: whether to do the work (false: cancelled, or the deadline has passed). */
    boolean enter() {
        if (deadlines.millis() > deadlineMillis) {
            state.compareAndSet(RUNNING, CANCELLED);
            return false;
        }
        return state.compareAndSet(RUNNING, ENTERED);
    }

    boolean cancel() {
        return state.compareAndSet(RUNNING, CANCELLED);
    }

    boolean leave() {
        return state.compareAndSet(ENTERED, RETURNING) || state.get() == RETURNING;
    }

    /** Marks the trip over; false when it was abandoned. */
    boolean finish() {
        return state.getAndSet(DONE) != ABANDONED;
    }

    /** The answer, waited for however long it takes; an interrupt meanwhile is kept for the caller. */
    Result<T> awaitUninterruptibly() {
        try {
            return dev.netfence.core.Uninterruptibly.get(result);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("trips complete normally", e);
        }
    }

    /** A trip's answer: its value, or the failure to throw at the caller. */
    record Result<T>(T value, EnforcementException error) {
        static <T> Result<T> of(T value) {
            return new Result<>(value, null);
        }

        static <T> Result<T> failed(EnforcementException error) {
            return new Result<>(null, error);
        }

        /** The value, or the failure thrown. */
        T unwrap() {
            if (error != null) {
                throw error;
            }
            return value;
        }
    }
}
