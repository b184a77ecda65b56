package dev.netfence.reconcile;

import dev.netfence.event.Outcome;

/**
 * Where the reconciler's own outcomes go (corrections that no event asked for): in production
 * the outcomes topic, keyed by containerId with the same headers as event outcomes. Must not
 * block for long; thread-safe.
 */
@FunctionalInterface
public interface OutcomePublisher {
    void publish(Outcome outcome);
}
