package dev.netfence.enforce;

import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * The request the enforcer tests against fake pins send most: a bridge policy allowing
 * 198.51.100.7:443 and nothing else, for a container id and pid, with 30 s to go.
 */
final class TestRequests {
    private TestRequests() {}

    /** The bridge policy allowing only 198.51.100.7:443 (no DNS, no outbound or inbound beyond it). */
    static NetworkPolicy policy() {
        return new PolicyParser().parse(("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":"
                + "[\"198.51.100.7:443\"],\"dns\":false,\"outbound\":false,\"inbound\":false}")
                .getBytes(StandardCharsets.UTF_8));
    }

    /** {@link #policy()} for container {@code containerId} through pid {@code pid}. */
    static EnforcementRequest request(String containerId, int pid) {
        return new EnforcementRequest(containerId, null, pid, policy(), Instant.now().plusSeconds(30));
    }
}
