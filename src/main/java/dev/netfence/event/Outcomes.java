package dev.netfence.event;

import dev.netfence.core.EnforcementResult.ErrorInfo;
import dev.netfence.core.EnforcementResult;
import dev.netfence.core.ErrorCode;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * Builds {@link Outcome} documents: from an event and what the enforcer did, or from an event
 * that never reached the enforcer (a schema-invalid event whose containerId is known). Stamps the finish
 * time from the injected clock, the latency since the event occurred, which instance produced
 * it, and whether the event was a replay. Thread-safe.
 */
public final class Outcomes {
    private final Clock clock;
    private final Outcome.EnforcerInfo enforcer;

    public Outcomes(Clock clock, String instance, String version) {
        this.clock = Objects.requireNonNull(clock, "clock");
        this.enforcer = new Outcome.EnforcerInfo(instance, version);
    }

    public Outcome.EnforcerInfo enforcer() {
        return enforcer;
    }

    /** The outcome of an event the enforcer handled, reporting its result as-is. */
    public Outcome of(ContainerEvent event, EnforcementResult result, boolean replay) {
        Instant finished = clock.instant();
        return new Outcome(Outcome.SCHEMA_VERSION, event.eventId(), event.taskId(), event.containerId(),
                event.nodeId(), result.status(), result.policyDigest(), result.mode(), result.backend(),
                result.families(), result.ruleCount(), result.resolved(), result.nameservers(), result.risks(),
                result.warnings(), result.quarantined(), result.guards(), result.attempts(), result.error(),
                event.occurredAt(), finished,
                latency(event.occurredAt(), finished), replay, enforcer);
    }

    /** The failed outcome of a schema-invalid event whose containerId could still be read. */
    public Outcome invalidEvent(DecodeResult.Invalid invalid, boolean replay) {
        Objects.requireNonNull(invalid.containerId(), "containerId");
        return new Outcome(Outcome.SCHEMA_VERSION, invalid.eventId(), invalid.taskId(), invalid.containerId(),
                invalid.nodeId(), EnforcementResult.FAILED, null, null, null, List.of(), 0, null, null, false, 0,
                ErrorInfo.of(ErrorCode.INVALID_EVENT, invalid.message()), null, clock.instant(), null, replay,
                enforcer);
    }

    private static Long latency(Instant occurred, Instant finished) {
        return Math.max(0L, Duration.between(occurred, finished).toMillis());
    }
}
