package dev.netfence.reconcile;

import dev.netfence.core.EnforcementResult;
import dev.netfence.core.ErrorCode;
import dev.netfence.event.ContainerEvent;
import java.time.Clock;
import java.util.Objects;
import java.util.Optional;

/**
 * Which start events the reconciler skips without running their enforcement: a start of an
 * instance stopped since (reordered, or replayed), or of one earlier than the instance running
 * where it was recorded. Asked under the container's lock by {@link Reconciler#started}, and
 * without it by the pipeline before it asks a runtime for the pid of a start that carries none
 * (review 209: a replayed start paid that lookup, up to the event's deadline, before its skip).
 * Reads only; thread-safe as the live set is.
 */
final class StaleStarts {
    private final LiveSet live;
    private final Corrections corrections;
    /** The stopped containers' hour (never the wall clock's steps). */
    private final Clock steady;

    StaleStarts(LiveSet live, Corrections corrections, Clock steady) {
        this.live = Objects.requireNonNull(live, "live");
        this.corrections = Objects.requireNonNull(corrections, "corrections");
        this.steady = Objects.requireNonNull(steady, "steady");
    }

    /**
     * The skipped result of a start not to enforce: one of an instance stopped since, or earlier
     * than the instance running; empty for a start to enforce.
     */
    Optional<EnforcementResult> skipOf(ContainerEvent event) {
        // a start that occurred after the remembered stop, or with another pid about when it
        // occurred, is the same id started again (podman stop + start, podman restart): enforced;
        // one of the stopped instance, or earlier, is a reordered or replayed start
        LiveSet.Stop stop = live.stopOf(event.containerId(), steady.instant()).orElse(null); // its hour: steady
        if (stop != null && stop.covers(event)) {
            return Optional.of(EnforcementResult.skip(ErrorCode.CONTAINER_NOT_FOUND, "container " + event.containerId()
                    + " was stopped (container.stopped occurred at " + stop.occurredAt() + ") after this start"
                    + " event (occurred at " + event.occurredAt() + ")").build());
        }
        // only while that later instance still runs where recorded: an entry whose start was stamped ahead
        // (an emitter's clock) and whose process has gone must not turn the next instance's start away
        LiveContainer later = live.get(event.containerId())
                .filter(c -> c.startedBefore(event) && corrections.recordedInstance(c, c.pid())).orElse(null);
        if (later != null) {
            return Optional.of(EnforcementResult.skip(ErrorCode.CONTAINER_NOT_FOUND, "container " + event.containerId()
                    + " runs as a later instance (pid " + later.pid() + ", started at " + later.startedAt()
                    + ") than this start event's (occurred at " + event.occurredAt() + "), which stays enforced")
                    .build());
        }
        return Optional.empty();
    }

}
