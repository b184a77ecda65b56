package dev.netfence.reconcile;

import dev.netfence.core.EnforcementResult;
import dev.netfence.event.ContainerEvent;
import dev.netfence.event.Outcome;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * What the event pipeline tells the reconciler about containers, on the worker that handles the
 * event (in the container's event order): a {@code container.started} whose enforcement it runs
 * through {@link #started} (so the enforcement and the live-set entry change together, under the
 * container's lock), and a {@code container.stopped}.
 */
public interface ContainerLifecycle {

    /** The enforcement of one start event, as the pipeline would run it without a reconciler. */
    @FunctionalInterface
    interface Enforcement {
        EnforcementResult run() throws InterruptedException;
    }

    /** Runs {@code enforcement} for {@code event} (or refuses it: the container already stopped) and records the result. */
    EnforcementResult started(ContainerEvent event, Enforcement enforcement) throws InterruptedException;

    /**
     * Whether {@link #started} would skip {@code event} without running its enforcement (a start of
     * an instance stopped since, or of one earlier than the instance running), as far as can be told
     * without the container's lock: the pipeline then asks the runtime nothing for it (a start
     * without a pid). {@link #started} decides again under the lock. By default false.
     */
    default boolean staleStart(ContainerEvent event) {
        return false;
    }

    /**
     * Releases the container (live-set entry, host guard); the caller publishes the {@code removed}
     * outcome. Empty when done (or nothing was there); else why nothing was released: the stop is of
     * an earlier instance than the one enforced (the caller reports it {@code skipped}).
     */
    Optional<String> stopped(ContainerEvent event);

    /**
     * The pipeline's outcome of an event is out (acknowledged, or committed with its offsets):
     * outcomes of later corrections of that container may follow it (see {@code OutcomeOrder}).
     */
    default void published(Outcome outcome) {
    }

    /**
     * The pipeline will never send the outcome of an event (its partition went first, or a dead
     * letter replaced it): as {@link #published}, for what waits behind it, though nothing landed.
     */
    default void dropped(Outcome outcome) {
        published(outcome);
    }

    /**
     * Completes when the outcome of event {@code eventId} of the container may be sent: once the
     * reconciler's outcomes of that container published before the event are acknowledged, so that
     * the last outcome on the topic is the container's current state although two producers write
     * them (see {@code OutcomeOrder}). At once for an event this lifecycle was not told of. Never
     * blocks.
     */
    default CompletableFuture<Void> reportable(String containerId, String eventId) {
        return CompletableFuture.completedFuture(null);
    }

    /**
     * Completes when what {@link #started} or {@link #stopped} recorded of the container is in the
     * journal (acknowledged, or failed and kept to be written again at each resync): the pipeline
     * commits the event's offset only then, so a netfence killed in between redoes the event on
     * restart instead of forgetting the container. Never blocks.
     */
    default CompletableFuture<Void> journaled(String containerId) {
        return CompletableFuture.completedFuture(null);
    }

    /**
     * Partitions of the events topic were assigned to this instance (on the poll thread, before
     * their records are fetched): what another instance of this node journaled meanwhile may be
     * news here ({@code TakeOver}). Never blocks.
     */
    default void partitionsAssigned() {
    }

    /**
     * This instance was fenced by another instance of its node and stands by ({@code true}), or
     * joins again ({@code false}): while it stands by, the other one enforces the node, and what
     * this one knows may be stale (a container restarted there under the same id would be released
     * here, its journal entry and host guard with it).
     */
    default void standingBy(boolean on) {
    }

    /** No reconciler: start events are enforced once, stop events only reported. */
    ContainerLifecycle NONE = new ContainerLifecycle() {
        @Override
        public EnforcementResult started(ContainerEvent event, Enforcement enforcement) throws InterruptedException {
            return enforcement.run();
        }

        @Override
        public Optional<String> stopped(ContainerEvent event) {
            return Optional.empty();
        }
    };
}
