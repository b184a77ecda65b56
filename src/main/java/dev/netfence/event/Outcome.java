package dev.netfence.event;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import dev.netfence.core.EnforcementResult.ErrorInfo;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * An outcome v1 document ({@code schemas/outcome.v1.json}; docs/contracts.md, "Outcome v1"): what became
 * of one container event, published to the outcome topic keyed by containerId. Field order
 * follows the contract; nulls are written, never omitted.
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record Outcome(
        int schemaVersion,
        String eventId,
        String taskId,
        String containerId,
        String nodeId,
        String status,
        String policyDigest,
        String mode,
        String backend,
        List<String> families,
        int ruleCount,
        Map<String, List<String>> resolved,
        List<String> nameservers,
        List<String> risks,
        List<String> warnings,
        boolean quarantined,
        List<String> guards,
        int attempts,
        ErrorInfo error,
        Instant eventOccurredAt,
        Instant finishedAt,
        Long latencyMs,
        boolean replay,
        String trigger,
        EnforcerInfo enforcer) {

    public static final int SCHEMA_VERSION = 1;
    /** The status of a container netfence released (stopped, or found gone). */
    public static final String REMOVED = "removed";

    public Outcome {
        Objects.requireNonNull(containerId, "containerId");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(finishedAt, "finishedAt");
        if (trigger == null) { // an outcome written before the field existed
            trigger = replay ? Trigger.REPLAY.wire() : Trigger.START.wire();
        }
        Objects.requireNonNull(enforcer, "enforcer");
        families = families == null ? List.of() : List.copyOf(families);
        resolved = resolved == null ? Map.of() : Map.copyOf(resolved);
        nameservers = nameservers == null ? List.of() : List.copyOf(nameservers);
        risks = risks == null ? List.of() : List.copyOf(risks);
        guards = guards == null ? List.of() : List.copyOf(guards);
        warnings = warnings == null ? List.of() : List.copyOf(warnings); // absent in outcomes of older versions
    }

    /** An outcome without {@code warnings}. */
    public Outcome(int schemaVersion, String eventId, String taskId, String containerId, String nodeId, String status,
            String policyDigest, String mode, String backend, List<String> families, int ruleCount,
            Map<String, List<String>> resolved, List<String> nameservers, List<String> risks, boolean quarantined,
            List<String> guards, int attempts, ErrorInfo error, Instant eventOccurredAt, Instant finishedAt,
            Long latencyMs, boolean replay, EnforcerInfo enforcer) {
        this(schemaVersion, eventId, taskId, containerId, nodeId, status, policyDigest, mode, backend, families,
                ruleCount, resolved, nameservers, risks, List.of(), quarantined, guards, attempts, error,
                eventOccurredAt, finishedAt, latencyMs, replay, null, enforcer);
    }

    /** An outcome without {@code risks}, {@code warnings} and {@code guards} (none), for callers that predate the fields. */
    public Outcome(int schemaVersion, String eventId, String taskId, String containerId, String nodeId, String status,
            String policyDigest, String mode, String backend, List<String> families, int ruleCount,
            Map<String, List<String>> resolved, List<String> nameservers, boolean quarantined, int attempts,
            ErrorInfo error, Instant eventOccurredAt, Instant finishedAt, Long latencyMs, boolean replay,
            String trigger, EnforcerInfo enforcer) {
        this(schemaVersion, eventId, taskId, containerId, nodeId, status, policyDigest, mode, backend, families,
                ruleCount, resolved, nameservers, List.of(), List.of(), quarantined, List.of(), attempts, error,
                eventOccurredAt, finishedAt, latencyMs, replay, trigger, enforcer);
    }

    /** The error code, or null when the outcome carries no error. */
    @JsonIgnore
    public String errorCode() {
        return error == null ? null : error.code();
    }

    /** Which netfence produced an outcome: {@code <nodeId>/<pid>} and the release version. */
    public record EnforcerInfo(String instance, String version) {
        public EnforcerInfo {
            Objects.requireNonNull(instance, "instance");
            Objects.requireNonNull(version, "version");
        }
    }
}
