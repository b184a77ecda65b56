package dev.netfence.enforce;

import dev.netfence.policy.NetworkPolicy;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One unit of work for the {@link Enforcer}: which container (by pid, or by id and runtime when
 * the pid is unknown), which validated policy, and the instant by which it must be done.
 *
 * @param containerId may be null for a bare {@code netfence apply --pid}; when set, the cgroup
 *     check ties the pid to it
 * @param runtime podman|docker|containerd|crio, or null
 * @param pid the container's init pid, or null to ask the runtime
 * @param netns the runtime's path of the container's network namespace (the event's {@code netns},
 *     already validated), or null; when set, that namespace is enforced and the pid must be in it
 * @param deadline the per-event deadline; past it the result is TIMEOUT
 * @param taskId the task whose policy this is (the event's, or the live set's), or null where
 *     none is known ({@code netfence apply}); containers of one task share one policy, so two of
 *     them in one namespace never refuse each other while a policy update reaches one first
 * @param lastResolved what the container's hostnames resolved to when its rules were last
 *     verified (the live set's {@code resolved}: hostname to address literals), which a
 *     reconciliation keeps for a name that does not resolve now ({@link KeptAnswers}); empty for
 *     an event and {@code netfence apply}
 */
public record EnforcementRequest(String containerId, String runtime, Integer pid, Path netns, NetworkPolicy policy,
        Instant deadline, String taskId, Map<String, List<String>> lastResolved) {

    /** A request with no answers to keep ({@code lastResolved} empty). */
    public EnforcementRequest(String containerId, String runtime, Integer pid, Path netns, NetworkPolicy policy,
            Instant deadline, String taskId) {
        this(containerId, runtime, pid, netns, policy, deadline, taskId, Map.of());
    }

    /** A request of no known task. */
    public EnforcementRequest(String containerId, String runtime, Integer pid, Path netns, NetworkPolicy policy,
            Instant deadline) {
        this(containerId, runtime, pid, netns, policy, deadline, null);
    }

    /** A request without a {@code netns}, of no known task. */
    public EnforcementRequest(String containerId, String runtime, Integer pid, NetworkPolicy policy, Instant deadline) {
        this(containerId, runtime, pid, null, policy, deadline);
    }

    public EnforcementRequest {
        lastResolved = lastResolved == null ? Map.of() : Map.copyOf(lastResolved);
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(deadline, "deadline");
        if (pid == null && containerId == null) {
            throw new IllegalArgumentException("either pid or containerId is required");
        }
    }
}
