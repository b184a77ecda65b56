package dev.netfence.app;

import dev.netfence.core.EnforcementResult;
import dev.netfence.event.ContainerEvent;
import dev.netfence.event.Outcome;
import dev.netfence.reconcile.ContainerLifecycle;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * The reconciler's {@link ContainerLifecycle}, also telling whatever else must follow this
 * instance's standing by (the OCI hook's socket, given up while another instance of the node
 * enforces it) when the pipeline says so. Every method of the interface is forwarded; one added to
 * it must be forwarded here too.
 */
final class StandbyAwareLifecycle implements ContainerLifecycle {
    private final ContainerLifecycle reconciler;
    private final Consumer<Boolean> standby;

    StandbyAwareLifecycle(ContainerLifecycle reconciler, Consumer<Boolean> standby) {
        this.reconciler = Objects.requireNonNull(reconciler, "reconciler");
        this.standby = Objects.requireNonNull(standby, "standby");
    }

    @Override
    public EnforcementResult started(ContainerEvent event, Enforcement enforcement) throws InterruptedException {
        return reconciler.started(event, enforcement);
    }

    @Override
    public boolean staleStart(ContainerEvent event) {
        return reconciler.staleStart(event);
    }

    @Override
    public Optional<String> stopped(ContainerEvent event) {
        return reconciler.stopped(event);
    }

    @Override
    public void published(Outcome outcome) {
        reconciler.published(outcome);
    }

    @Override
    public void dropped(Outcome outcome) {
        reconciler.dropped(outcome);
    }

    @Override
    public CompletableFuture<Void> reportable(String containerId, String eventId) {
        return reconciler.reportable(containerId, eventId);
    }

    @Override
    public CompletableFuture<Void> journaled(String containerId) {
        return reconciler.journaled(containerId);
    }

    @Override
    public void partitionsAssigned() {
        reconciler.partitionsAssigned();
    }

    @Override
    public void standingBy(boolean on) {
        reconciler.standingBy(on); // corrections paused first: nothing fences here once the hook is given up
        standby.accept(on);
    }
}
