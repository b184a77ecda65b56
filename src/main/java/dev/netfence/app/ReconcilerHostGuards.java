package dev.netfence.app;

import dev.netfence.core.EnforcementException;
import dev.netfence.hostguard.GuardChain;
import dev.netfence.hostguard.HostGuards;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lets the reconciler drive the host guards of {@code netfence run}: a released container's
 * chains are removed at once (by the owner its chains record, {@link GuardChain#ownerOf}), and
 * each resync ends with a sweep of the chains whose interface vanished. A removal the host table
 * refuses is logged, not thrown: the release of the live-set entry stands, and the guard's own
 * sweeper removes the chain once its interface is gone (a chain left meanwhile only drops).
 */
final class ReconcilerHostGuards implements dev.netfence.reconcile.HostGuards {
    private static final Logger LOG = LoggerFactory.getLogger(ReconcilerHostGuards.class);
    private final HostGuards guards;

    ReconcilerHostGuards(HostGuards guards) {
        this.guards = Objects.requireNonNull(guards, "guards");
    }

    @Override
    public void release(String containerId) {
        try {
            int removed = guards.release(GuardChain.ownerOf(Objects.requireNonNull(containerId, "containerId"), 0));
            if (removed > 0) {
                LOG.info("removed the host guard of container {} ({} chain(s))", containerId, removed);
            }
        } catch (EnforcementException e) {
            LOG.warn("removing the host guard of container {} failed ({}: {}); it goes at the next sweep once its "
                    + "interface is gone", containerId, e.code(), e.getMessage());
        }
    }

    @Override
    public void sweep() {
        try {
            guards.sweep();
        } catch (EnforcementException e) {
            LOG.warn("host guard sweep after the resync failed ({}: {})", e.code(), e.getMessage());
        }
    }
}
