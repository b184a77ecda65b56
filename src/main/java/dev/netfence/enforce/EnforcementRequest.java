package dev.netfence.enforce;

import dev.netfence.policy.NetworkPolicy;
import java.time.Instant;
import java.util.Objects;

/**
 * One unit of work for the {@link Enforcer}: which container (by pid, or by id and runtime when
 * the pid is unknown), which validated policy, and the instant by which it must be done.
 *
 * @param containerId may be null for a bare {@code netfence apply --pid}; when set, the cgroup
 *     check ties the pid to it
 * @param runtime podman|docker|containerd|crio, or null
 * @param pid the container's init pid, or null to ask the runtime
 * @param deadline the per-event deadline; past it the result is TIMEOUT
 */
public record EnforcementRequest(
        String containerId, String runtime, Integer pid, NetworkPolicy policy, Instant deadline) {
    public EnforcementRequest {
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(deadline, "deadline");
        if (pid == null && containerId == null) {
            throw new IllegalArgumentException("either pid or containerId is required");
        }
    }
}
