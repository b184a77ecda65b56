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
 * Builds {@link Outcome} documents: from an event and what the enforcer did, from a stop event,
 * from a correction of the reconciler, or from an event that never reached the enforcer (a
 * schema-invalid event whose containerId is known). Stamps the finish
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

    /** The outcome of a start event the enforcer handled, reporting its result as-is. */
    public Outcome of(ContainerEvent event, EnforcementResult result, boolean replay) {
        Instant finished = clock.instant();
        return new Outcome(Outcome.SCHEMA_VERSION, event.eventId(), event.taskId(), event.containerId(),
                event.nodeId(), result.status(), result.policyDigest(), result.mode(), result.backend(),
                result.families(), result.ruleCount(), result.resolved(), result.nameservers(), result.risks(),
                result.warnings(), result.quarantined(), result.guards(), result.attempts(), result.error(),
                event.occurredAt(), finished,
                latency(event.occurredAt(), finished), replay, eventTrigger(event, replay), enforcer);
    }

    /**
     * The outcome of a one-off {@code netfence apply}: no event, so {@code eventId}, {@code taskId},
     * {@code nodeId} and {@code eventOccurredAt} are null, the trigger is {@code start}, and the
     * latency counts from {@code started}.
     */
    public Outcome oneOff(String containerId, EnforcementResult result, Instant started) {
        Instant finished = clock.instant();
        return new Outcome(Outcome.SCHEMA_VERSION, null, null, containerId, null, result.status(),
                result.policyDigest(), result.mode(), result.backend(), result.families(), result.ruleCount(),
                result.resolved(), result.nameservers(), result.risks(), result.warnings(), result.quarantined(),
                result.guards(), result.attempts(), result.error(), null, finished, latency(started, finished), false,
                Trigger.START.wire(), enforcer);
    }

    /** The {@code removed} outcome of a stop event: the container was released. */
    public Outcome removed(ContainerEvent event, boolean replay) {
        Instant finished = clock.instant();
        return new Outcome(Outcome.SCHEMA_VERSION, event.eventId(), event.taskId(), event.containerId(),
                event.nodeId(), Outcome.REMOVED, null, null, null, List.of(), 0, null, null, false, 0, null,
                event.occurredAt(), finished, latency(event.occurredAt(), finished), replay,
                eventTrigger(event, replay), enforcer);
    }

    /**
     * The outcome of a correction the reconciler made on its own (no event asked for it:
     * {@code eventId}, {@code eventOccurredAt} and {@code latencyMs} are null).
     */
    public Outcome reconciled(String containerId, String taskId, String nodeId, EnforcementResult result,
            Trigger trigger) {
        return new Outcome(Outcome.SCHEMA_VERSION, null, taskId, containerId, nodeId, result.status(),
                result.policyDigest(), result.mode(), result.backend(), result.families(), result.ruleCount(),
                result.resolved(), result.nameservers(), result.risks(), result.warnings(), result.quarantined(),
                result.guards(),
                result.attempts(), result.error(), null, clock.instant(), null, false, trigger.wire(), enforcer);
    }

    /** The {@code removed} outcome of a container the reconciler released on its own (found gone). */
    public Outcome released(String containerId, String taskId, String nodeId, Trigger trigger) {
        return new Outcome(Outcome.SCHEMA_VERSION, null, taskId, containerId, nodeId, Outcome.REMOVED, null, null,
                null, List.of(), 0, null, null, false, 0, null, null, clock.instant(), null, false, trigger.wire(),
                enforcer);
    }

    /** The failed outcome of a schema-invalid event whose containerId could still be read. */
    public Outcome invalidEvent(DecodeResult.Invalid invalid, boolean replay) {
        Objects.requireNonNull(invalid.containerId(), "containerId");
        return new Outcome(Outcome.SCHEMA_VERSION, invalid.eventId(), invalid.taskId(), invalid.containerId(),
                invalid.nodeId(), EnforcementResult.FAILED, null, null, null, List.of(), 0, null, null, false, 0,
                ErrorInfo.of(ErrorCode.INVALID_EVENT, invalid.message()), null, clock.instant(), null, replay,
                (replay ? Trigger.REPLAY : Trigger.START).wire(), enforcer);
    }

    private static String eventTrigger(ContainerEvent event, boolean replay) {
        return (replay ? Trigger.REPLAY : event.stopped() ? Trigger.STOP : Trigger.START).wire();
    }

    private static Long latency(Instant occurred, Instant finished) {
        return Math.max(0L, Duration.between(occurred, finished).toMillis());
    }
}
