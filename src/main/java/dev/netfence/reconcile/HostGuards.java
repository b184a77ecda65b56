package dev.netfence.reconcile;

/**
 * The host-side guard's lifecycle hooks the reconciler calls: {@link #release} when a container
 * is released (its {@code container.stopped}, or found gone at a resync), under the container's
 * lock, so its host chains go at once instead of at the guard's own sweep; and {@link #sweep}
 * after each resync, which removes the guards whose host interface vanished. A guard is never
 * removed only because its container is not in the live set: a guard only adds drops (the
 * in-namespace rules decide what is allowed), so one left on a running container netfence no
 * longer tracks fails closed, and it goes with that container's interface. Implementations are
 * thread-safe, never throw for a guard that does not exist, and log (not throw) a failed removal.
 */
public interface HostGuards {
    void release(String containerId);

    void sweep();

    /** No host guard (guards off, dry runs, tests). */
    HostGuards NONE = new HostGuards() {
        @Override
        public void release(String containerId) {
        }

        @Override
        public void sweep() {
        }
    };
}
