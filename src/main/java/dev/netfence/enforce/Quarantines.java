package dev.netfence.enforce;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.core.EnforcementTarget;
import dev.netfence.hostguard.GuardChain;
import dev.netfence.hostguard.HostGuards;
import dev.netfence.netns.NamespacePinner;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.rules.PlannedRules;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The enforcer's fail-closed step: writes the quarantine plan (loopback only, both families)
 * into a container's pinned namespace, with its own time budget ({@code quarantine-budget}, as
 * the request's deadline may be gone) and retries, plus the host guard where there is a host
 * side (a host side that cannot be guarded is reported as guard {@code netns}, never refused).
 * With {@code checkFirst} (a resync) the namespace and the host chain are read back first and
 * written only when they differ. A quarantine for the container's own failure (a code given)
 * makes it the namespace's quarantined member ({@link ContainmentChecks#quarantined}), recorded
 * in the namespace's write turn before the quarantine is written; the hook's fence and a re-check
 * record nothing. Split out of {@link DefaultEnforcer}, which decides when to quarantine; this
 * class only knows how. Thread-safe.
 */
final class Quarantines {
    private static final Logger LOG = LoggerFactory.getLogger(Quarantines.class);

    /** The quarantine that is in force after a failure. */
    record Quarantine(PlannedRules plan, FirewallBackend backend, List<String> guards,
            EnforcementTarget target, String drift) {}

    private final EnforcerConfig config;
    private final Clock clock;
    private final NamespacePinner pinner;
    private final ApplyPipeline pipeline;
    private final BackendSelector selector;
    private final HostGuards hostGuards;
    private final RetriedAttempts retried;
    private final ContainmentChecks checks;

    Quarantines(EnforcerConfig config, Clock clock, NamespacePinner pinner, ApplyPipeline pipeline,
            BackendSelector selector, HostGuards hostGuards, RetriedAttempts retried, ContainmentChecks checks) {
        this.checks = checks;
        this.config = config;
        this.clock = clock;
        this.pinner = pinner;
        this.pipeline = pipeline;
        this.selector = selector;
        this.hostGuards = hostGuards;
        this.retried = retried;
    }

    /**
     * Applies the quarantine for the container's failure {@code code} with its own small budget
     * (the request's deadline may be gone); null if impossible.
     */
    Quarantine orNull(String containerId, String runtime, Integer pid, Path netns, ErrorCode code) {
        AtomicInteger attempts = new AtomicInteger();
        try {
            return apply(containerId, runtime, pid, netns, attempts, false, code);
        } catch (EnforcementException e) {
            LOG.error("could not quarantine container {} pid {}: {} {}", containerId, pid, e.code().code(), e.getMessage());
            return null;
        }
    }

    /** The host guard of a quarantined container, where there is a host side; never refuses. */
    private HostGuards.Result quarantineHostSide(String containerId, PinnedNamespace ns, PlannedRules plan) {
        try {
            return hostGuards.guard(GuardChain.ownerOf(containerId, ns.pid()), ns.path(), plan);
        } catch (EnforcementException e) {
            LOG.error("could not quarantine the host side of container {}: {} {}", containerId, e.code().code(),
                    e.getMessage());
            return new HostGuards.Result(List.of(HostGuards.NETNS), List.of(), e.getMessage(), null);
        }
    }

    /** The in-namespace drift and the host guard's, either of which may be null. */
    static String both(String netns, String host) {
        return netns == null ? host : host == null ? netns : netns + "; " + host;
    }

    /**
     * The quarantine with its own budget and retries; throws when it cannot be applied. With
     * {@code checkFirst} the namespace is read back first and written only when it differs.
     * {@code code}: the container's own failure, which makes it the namespace's quarantined
     * member; null for the hook's fence and a re-check.
     */
    Quarantine apply(String containerId, String runtime, Integer pid, Path netns,
            AtomicInteger attempts, boolean checkFirst, ErrorCode code) {
        Deadline budget = new Deadline(clock, clock.instant().plus(config.quarantineBudget()));
        return retried.run(budget, attempts, () -> {
            try (PinnedNamespace ns = pinner.pin(pid, containerId, runtime, netns, budget.at())) {
                PlannedRules plan = pipeline.quarantinePlan();
                FirewallBackend backend = selector.backend();
                String drift = checkFirst ? pipeline.drift(ns, backend, plan, budget).orElse(null) : null;
                if (!checkFirst || drift != null) {
                    pipeline.writeQuarantine(ns, backend, plan, budget, () -> {
                        if (code != null) {
                            checks.quarantined(ns, containerId, code);
                        }
                    });
                }
                HostGuards.Result host = quarantineHostSide(containerId, ns, plan);
                String differed = checkFirst ? both(drift, host.drift()) : drift;
                if (!checkFirst || differed != null) {
                    LOG.warn("quarantined container {} ({}), guards {}", containerId, ns, host.guards());
                }
                return new Quarantine(plan, backend, host.guards(), new EnforcementTarget(ns.pid(), ns.id().device(), ns.id().inode()), differed);
            }
        });
    }
}
