package dev.netfence.reconcile;

import java.util.concurrent.locks.ReentrantLock;

/**
 * Serialises everything done to one container: its events (on the pipeline's workers), the
 * reconciler's corrections and the OCI hook's fence, so that the last write always comes from
 * the last decision (a policy update cannot be overtaken by an older event's apply). Striped: a
 * fixed number of locks chosen by the containerId's hash, so memory does not grow with the
 * containers seen; two containers may share a lock, which only costs waiting.
 */
public final class ContainerLocks {
    private static final int STRIPES = 256;

    private final ReentrantLock[] locks = new ReentrantLock[STRIPES];

    public ContainerLocks() {
        for (int i = 0; i < STRIPES; i++) {
            locks[i] = new ReentrantLock();
        }
    }

    /** The lock of {@code containerId}; lock it, and unlock it in a finally block. */
    public ReentrantLock of(String containerId) {
        return locks[Math.floorMod(containerId.hashCode() * 0x9E3779B9, STRIPES)];
    }
}
