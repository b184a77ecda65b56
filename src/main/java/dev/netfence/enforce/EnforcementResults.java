package dev.netfence.enforce;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.EnforcementResult;
import dev.netfence.core.ErrorCode;
import dev.netfence.enforce.Quarantines.Quarantine;
import dev.netfence.policy.Family;
import dev.netfence.policy.IpAddresses;
import dev.netfence.policy.NetworkMode;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.rules.RulePlanner;
import java.net.InetAddress;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The results {@link DefaultEnforcer} reports: an applied one from what a successful attempt did
 * (digest, mode, backend, families, rules, resolved addresses, trusted resolvers, warnings,
 * risks, guards, target, drift), and a failed or skipped one from the failure and the quarantine
 * in force after it, if any. Plain assembly, split out so the enforcer keeps only its flow.
 */
final class EnforcementResults {
    private final ApplyPipeline pipeline;
    private final EnforcerConfig config;

    EnforcementResults(ApplyPipeline pipeline, EnforcerConfig config) {
        this.pipeline = pipeline;
        this.config = config;
    }

    EnforcementResult success(NetworkPolicy policy, Applied applied, int attempts) {
        return EnforcementResult.applied()
                .policyDigest(pipeline.digest(policy))
                .mode(policy.mode().wire())
                .backend(applied.backend() == null ? null : applied.backend().wire())
                .families(wire(applied.plan().families()))
                .ruleCount(applied.plan().ruleCount())
                .resolved(strings(applied.resolved()))
                .nameservers(policy.dns() && policy.mode() != NetworkMode.NONE
                        ? RulePlanner.trustedResolvers(policy, config.dnsServers()).stream().map(IpAddresses::format).toList()
                        : List.of())
                .warnings(applied.plan().warnings())
                .risks(applied.risks())
                .guards(applied.guards())
                .attempts(attempts)
                .target(applied.target())
                .drift(applied.drift())
                .build();
    }

    EnforcementResult failed(NetworkPolicy policy, EnforcementException e, int attempts, Quarantine q,
            List<String> risks) {
        EnforcementResult.Builder result = e.code() == ErrorCode.CONTAINER_NOT_FOUND
                ? EnforcementResult.skip(e.code(), e.getMessage())
                : EnforcementResult.failure(e.code(), e.getMessage());
        if (policy != null) {
            result.policyDigest(pipeline.digest(policy)).mode(policy.mode().wire());
        }
        if (q != null) {
            result.backend(q.backend().wire()).families(wire(q.plan().families())).ruleCount(q.plan().ruleCount())
                    .quarantined(true).guards(q.guards()).target(q.target()).drift(q.drift());
        }
        return result.risks(risks).attempts(Math.max(1, attempts)).build();
    }

    private static List<String> wire(List<Family> families) {
        return families.stream().map(Family::wire).toList();
    }

    private static Map<String, List<String>> strings(Map<String, List<InetAddress>> resolved) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        resolved.forEach((host, addresses) -> out.put(host, addresses.stream().map(IpAddresses::format).toList()));
        return out;
    }
}
