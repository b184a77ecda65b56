package dev.netfence.reconcile;

import java.util.Set;

/**
 * The host-side guard's lifecycle hooks the reconciler calls: {@link #release} when a container
 * is released (its {@code container.stopped}, or found gone at a resync), and {@link #sweep}
 * after each resync with the containers still live, so guards whose container is no longer
 * enforced are removed. Implementations are thread-safe and never throw for a guard that does
 * not exist.
 */
public interface HostGuards {
    void release(String containerId);

    void sweep(Set<String> liveContainerIds);

    /** No host guard (guards off, dry runs, tests). */
    HostGuards NONE = new HostGuards() {
        @Override
        public void release(String containerId) {
        }

        @Override
        public void sweep(Set<String> liveContainerIds) {
        }
    };
}
