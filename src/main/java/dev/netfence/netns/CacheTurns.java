package dev.netfence.netns;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Turns at libnftables' process-wide interface cache ({@link DirectLibNftables}): a listing that
 * may print an interface index runs alone (exclusive), every other call beside the others
 * (shared), and no call waits more than {@code busyWait} for its turn ({@link LibNftables.Busy}).
 * A shared turn can be held long by a workload (libnftables restarts a cache fetch that a commit
 * in that namespace interrupts, without limit), and a queued exclusive request makes every later
 * shared request queue behind it: so an exclusive request queues only for {@code queuedWait},
 * then keeps asking without queueing (every millisecond, until {@code busyWait}, queueing again
 * for 10 ms every 100th time so that steady overlapping shared turns cannot starve it), and the
 * calls of other namespaces go on meanwhile. Thread-safe.
 */
final class CacheTurns {
    /** How long an exclusive request queues again now and then while it polls. */
    private static final long REQUEUE_NANOS = 10_000_000L;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final long queuedNanos;
    private final long busyNanos;

    CacheTurns(Duration queuedWait, Duration busyWait) {
        if (queuedWait.isNegative() || busyWait.compareTo(queuedWait) < 0) {
            throw new IllegalArgumentException("queuedWait must be between 0 and busyWait, was: " + queuedWait
                    + " and " + busyWait);
        }
        this.queuedNanos = queuedWait.toNanos();
        this.busyNanos = busyWait.toNanos();
    }

    /** A shared turn, taken within {@code busyWait}; {@link LibNftables.Busy} naming {@code what} otherwise. */
    Lock shared(String what) {
        Lock shared = lock.readLock();
        if (!take(shared, busyNanos)) {
            throw new LibNftables.Busy(what);
        }
        return shared;
    }

    /** The exclusive turn, taken within {@code busyWait} (queued only for {@code queuedWait}); Busy otherwise. */
    Lock exclusive(String what) {
        Lock alone = lock.writeLock();
        long until = System.nanoTime() + busyNanos;
        if (take(alone, queuedNanos)) {
            return alone;
        }
        for (int polls = 1; System.nanoTime() - until < 0; polls++) {
            // not queued, so shared requests meanwhile are not held behind this one; every 100th
            // poll queues for 10 ms, so that steady overlapping shared turns cannot starve it
            if (polls % 100 == 0 ? take(alone, REQUEUE_NANOS) : alone.tryLock()) {
                return alone;
            }
            LockSupport.parkNanos(1_000_000L);
            if (Thread.currentThread().isInterrupted()) {
                break;
            }
        }
        throw new LibNftables.Busy(what);
    }

    /** A shared turn if one is free at once, else null (never waits, never Busy). */
    Lock sharedNow() {
        Lock shared = lock.readLock();
        return shared.tryLock() ? shared : null;
    }

    /** {@code lock} within {@code nanos}; a free one is taken at once, also by an interrupted thread. */
    private static boolean take(Lock lock, long nanos) {
        if (lock.tryLock()) {
            return true;
        }
        try {
            return lock.tryLock(nanos, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
