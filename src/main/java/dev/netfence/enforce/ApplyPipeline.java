package dev.netfence.enforce;

import dev.netfence.iptables.FilterState;
import dev.netfence.iptables.RestoreRenderer;
import dev.netfence.iptables.RuleVerifier;
import dev.netfence.iptables.SaveParser;
import dev.netfence.netns.EndpointResolver;
import dev.netfence.netns.IptablesBackend;
import dev.netfence.netns.NamespaceFirewall;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.netns.ResolvConf;
import dev.netfence.policy.Endpoint;
import dev.netfence.policy.Family;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.rules.PlannedRules;
import dev.netfence.rules.RulePlanner;
import dev.netfence.rules.RuleSet;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The steps of one apply attempt, each a plain method so the enforcer can compose them with
 * retries: resolve hostnames, read the container's nameservers, plan, and write a plan into a
 * pinned namespace family by family (read back, render with the hook added or repaired only when the read-back needs it, restore
 * in one transaction, read back again and verify). It holds no per-request state, so one instance
 * serves all threads.
 */
final class ApplyPipeline {
    private final NamespaceFirewall firewall;
    private final EndpointResolver resolver;
    private final RulePlanner planner = new RulePlanner();
    private final RestoreRenderer renderer = new RestoreRenderer();
    private final SaveParser parser = new SaveParser();
    private final RuleVerifier verifier = new RuleVerifier();
    private final EnforcerConfig config;

    ApplyPipeline(NamespaceFirewall firewall, EndpointResolver resolver, EnforcerConfig config) {
        this.firewall = Objects.requireNonNull(firewall, "firewall");
        this.resolver = Objects.requireNonNull(resolver, "resolver");
        this.config = Objects.requireNonNull(config, "config");
    }

    /** Every hostname endpoint of the policy, resolved (A and AAAA); RESOLUTION_FAILED on any failure. */
    Map<String, List<InetAddress>> resolveHostnames(NetworkPolicy policy, Deadline deadline) {
        Map<String, List<InetAddress>> resolved = new LinkedHashMap<>();
        for (Endpoint endpoint : policy.allowedEndpoints()) {
            if (endpoint.isHostname() && !resolved.containsKey(endpoint.host())) {
                var timeout = deadline.cap(config.resolveTimeout(), "resolving " + endpoint.host());
                resolved.put(endpoint.host(), resolver.resolve(endpoint.host(), timeout));
            }
        }
        return resolved;
    }

    /** The nameservers in the container's resolv.conf; none when the file is missing. */
    List<InetAddress> nameservers(int pid) {
        try {
            return ResolvConf.readForPid(config.procRoot(), pid);
        } catch (IOException e) {
            throw new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE,
                    "cannot read resolv.conf of pid " + pid + ": " + e.getMessage(), e);
        }
    }

    PlannedRules plan(NetworkPolicy policy, Map<String, List<InetAddress>> resolved, List<InetAddress> nameservers) {
        return planner.plan(policy, resolved, nameservers);
    }

    PlannedRules quarantinePlan() {
        return planner.quarantine();
    }

    /**
     * Writes {@code plan} into the namespace, IPv4 then IPv6, then verifies both. Sets
     * {@code touched} as soon as one family's restore succeeded, so the caller knows a later
     * failure left the namespace half-changed.
     */
    void write(PinnedNamespace ns, IptablesBackend backend, PlannedRules plan, Deadline deadline, AtomicBoolean touched) {
        for (Family family : List.of(Family.IPV4, Family.IPV6)) {
            RuleSet rules = plan.forFamily(family);
            FilterState before = readBack(ns, backend, family, deadline);
            String input = renderer.render(rules, before);
            firewall.restore(ns, backend, family, input, deadline.cap(config.commandTimeout(), "restoring " + family.wire()));
            touched.set(true);
        }
        for (Family family : List.of(Family.IPV4, Family.IPV6)) {
            FilterState after = readBack(ns, backend, family, deadline);
            verifier.mismatch(plan.forFamily(family), after).ifPresent(why -> {
                throw new EnforcementException(ErrorCode.VERIFY_FAILED, family.wire() + " read-back differs: " + why);
            });
        }
    }

    /** The rendered restore input of both families, for dry runs and {@code netfence plan}. */
    Map<Family, String> render(PlannedRules plan) {
        Map<Family, String> text = new LinkedHashMap<>();
        for (Family family : plan.families()) {
            text.put(family, renderer.render(plan.forFamily(family), true, true));
        }
        return text;
    }

    private FilterState readBack(PinnedNamespace ns, IptablesBackend backend, Family family, Deadline deadline) {
        String saved = firewall.save(ns, backend, family, deadline.cap(config.commandTimeout(), "reading back " + family.wire()));
        return parser.parse(saved);
    }

    Path procRoot() {
        return config.procRoot();
    }
}
