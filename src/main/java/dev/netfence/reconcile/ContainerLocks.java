package dev.netfence.reconcile;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Serialises everything done to one container: its events (on the pipeline's workers), the
 * reconciler's corrections and the OCI hook's fence, so that the last write always comes from
 * the last decision (a policy update cannot be overtaken by an older event's apply). One lock per
 * containerId, not a fixed set shared by hash: a correction that keeps failing transiently holds
 * its container's lock for up to its deadline at each resync, and a shared lock made every
 * container hashed to it wait that long too, charged to their own event deadlines (TIMEOUT, then
 * a quarantine) and to the correction threads; now only another action on the same container
 * waits. The cost: a map entry (the id and a lock) for each container being acted on, created by
 * {@link #of} and removed when its last user is done, so memory follows the containers in use,
 * not the containers seen; and a map update at each {@code of} and each unlock. Hence the one
 * rule for callers: every {@code of} is followed at once by one lock call ({@code lock},
 * {@code lockInterruptibly}, {@code tryLock}) and, when that locks, by one {@code unlock} in a
 * finally block; {@code of} counts a user in, the unlock or the failed lock call counts it out.
 * Reentrant and non-fair, as before. Thread-safe.
 */
public final class ContainerLocks {
    private final ConcurrentHashMap<String, IdLock> locks = new ConcurrentHashMap<>();

    /** The lock of {@code containerId}; lock it at once, and unlock it in a finally block. */
    public ReentrantLock of(String containerId) {
        return locks.compute(containerId, (id, lock) -> {
            IdLock l = lock == null ? new IdLock(this, id) : lock;
            l.users++;
            return l;
        });
    }

    /** How many containers have a lock right now (obtained and not yet unlocked, or waited for). */
    int size() {
        return locks.size();
    }

    private void leave(IdLock lock) {
        locks.compute(lock.containerId, (id, l) -> {
            if (l != lock) {
                throw new IllegalStateException("the lock of container " + id + " was left more often than obtained");
            }
            return --l.users == 0 ? null : l;
        });
    }

    /** A container's lock; counted out of its map entry at each unlock and each lock call that fails. */
    private static final class IdLock extends ReentrantLock {
        private static final long serialVersionUID = 1L;

        private final transient ContainerLocks owner;
        private final String containerId;
        /** Users counted in and not yet out; read and written only in the map's compute for containerId. */
        private int users;

        IdLock(ContainerLocks owner, String containerId) {
            this.owner = owner;
            this.containerId = containerId;
        }

        @Override
        public void lock() {
            boolean locked = false;
            try {
                super.lock();
                locked = true;
            } finally {
                if (!locked) {
                    owner.leave(this);
                }
            }
        }

        @Override
        public void lockInterruptibly() throws InterruptedException {
            boolean locked = false;
            try {
                super.lockInterruptibly();
                locked = true;
            } finally {
                if (!locked) {
                    owner.leave(this);
                }
            }
        }

        @Override
        public boolean tryLock() {
            boolean locked = false;
            try {
                locked = super.tryLock();
                return locked;
            } finally {
                if (!locked) {
                    owner.leave(this);
                }
            }
        }

        @Override
        public boolean tryLock(long timeout, TimeUnit unit) throws InterruptedException {
            boolean locked = false;
            try {
                locked = super.tryLock(timeout, unit);
                return locked;
            } finally {
                if (!locked) {
                    owner.leave(this);
                }
            }
        }

        @Override
        public void unlock() {
            super.unlock(); // throws, counting nothing out, when the caller does not hold it
            owner.leave(this);
        }
    }
}
