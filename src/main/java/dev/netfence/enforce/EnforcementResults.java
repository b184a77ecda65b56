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

    /**
     * The warning of a Docker container's plan with {@code dns} on that rejects Docker's resolver
     * (not a trusted resolver): the container's resolv.conf names only 127.0.0.11 on a
     * user-defined network, so its name lookups fail (see RulePlanner#RUNTIME_LOOPBACK_RESOLVER).
     */
    static final String DOCKER_RESOLVER_WARNING = "dns: 127.0.0.11, Docker's resolver, is not a trusted resolver"
            + " (netfence --dns-servers or the policy's dnsServers), so it is rejected, and name lookups of a container on"
            + " a user-defined network fail; trust it, and the resolvers it forwards to, for them to work";

    /** {@link #success(NetworkPolicy, Applied, int)} for {@code request}, with its runtime's warning, if any. */
    EnforcementResult success(EnforcementRequest request, Applied applied, int attempts) {
        NetworkPolicy policy = request.policy();
        boolean dockerResolverRejected = "docker".equals(request.runtime()) && policy.dns()
                && policy.mode() != NetworkMode.NONE && applied.plan().families().contains(Family.IPV4)
                && applied.plan().forFamily(Family.IPV4).output()
                        .contains(dev.netfence.rules.Rule.rejectOut(RulePlanner.RUNTIME_LOOPBACK_RESOLVER));
        List<String> warnings = dockerResolverRejected ? List.of(DOCKER_RESOLVER_WARNING) : List.of();
        if (!applied.beside().isEmpty()) { // a pod member's risks are the pod's, each named
            List<String> more = new java.util.ArrayList<>(warnings);
            applied.beside().forEach((risk, member) -> more.add(sharedRiskWarning(risk, member)));
            warnings = more;
        }
        return success(policy, applied, attempts, warnings);
    }

    /** The warning of an outcome whose {@code risk} another member of its namespace, {@code member}, holds. */
    static String sharedRiskWarning(String risk, String member) {
        return "risks: " + risk + " is held by container " + member + ", which shares this container's network"
                + " namespace (a pod member), so it can do to these rules what the risk says";
    }

    EnforcementResult success(NetworkPolicy policy, Applied applied, int attempts) {
        return success(policy, applied, attempts, List.of());
    }

    private EnforcementResult success(NetworkPolicy policy, Applied applied, int attempts, List<String> moreWarnings) {
        List<String> warnings = applied.plan().warnings();
        if (!moreWarnings.isEmpty() || !applied.warnings().isEmpty()) {
            warnings = new java.util.ArrayList<>(warnings);
            warnings.addAll(applied.warnings());
            warnings.addAll(moreWarnings);
        }
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
                .warnings(warnings)
                .risks(applied.risks())
                .guards(applied.guards())
                .attempts(attempts)
                .target(applied.target())
                .drift(applied.drift())
                .build();
    }

    EnforcementResult failed(NetworkPolicy policy, EnforcementException e, int attempts, Quarantine q,
            List<String> risks) {
        return failed(policy, e, attempts, q, risks, null);
    }

    /** As above; {@code pinned}, where no quarantine says it, the namespace the failure concerns (NAMESPACE_SHARED). */
    EnforcementResult failed(NetworkPolicy policy, EnforcementException e, int attempts, Quarantine q,
            List<String> risks, dev.netfence.core.EnforcementTarget pinned) {
        EnforcementResult.Builder result = e.code() == ErrorCode.CONTAINER_NOT_FOUND
                ? EnforcementResult.skip(e.code(), e.getMessage())
                : EnforcementResult.failure(e.code(), e.getMessage());
        if (policy != null) {
            result.policyDigest(pipeline.digest(policy)).mode(policy.mode().wire());
        }
        if (q != null) {
            result.backend(q.backend().wire()).families(wire(q.plan().families())).ruleCount(q.plan().ruleCount())
                    .quarantined(true).guards(q.guards()).target(q.target()).drift(q.drift());
        } else if (pinned != null) {
            result.target(pinned);
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
