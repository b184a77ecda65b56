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
 * after the pin, before the read-back and the write (writes into a namespace take turns, so a
 * policy write is either overwritten by this one or sees the record), and undone only when this
 * was its first quarantine and it could not be written; the hook's fence and its re-check record
 * nothing, and so does the hook's fence written for a container refused NAMESPACE_SHARED where no
 * owner could be confirmed ({@link #fenceUngoverned}); {@link #located} says where a failure
 * that wrote nothing is. Split out of {@link DefaultEnforcer}, which decides when to quarantine; this
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
    private final LeftNamespaces left;

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
        this.left = new LeftNamespaces(this, pinner, clock, config);
    }

    /** Where the container left when its pid's namespace was refused NAMESPACE_MISMATCH ({@link LeftNamespaces}). */
    LeftNamespaces left() {
        return left;
    }

    /**
     * Applies the quarantine for the container's failure {@code code} with its own small budget
     * (the request's deadline may be gone); null if impossible. {@link Freed} for
     * NAMESPACE_QUARANTINED when no other member is quarantined by the write turn; a null
     * {@code code} records no member.
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

    /**
     * {@link #orNull} for a container with no usable policy (no enforcement ran to find where it
     * is): when {@code pid}'s namespace is refused NAMESPACE_MISMATCH (not the one the runtime's
     * path {@code netns} leads to, or, without that path, one made inside the container or with
     * {@code lo} alone), the namespace the container left behind is quarantined instead, found as
     * after a refused enforcement ({@link LeftNamespaces}).
     * Before, nothing was written: a workload that moved its pid 1 into a namespace of its own left
     * the runtime's namespace open while its outcome said POLICY_NOT_FOUND.
     */
    Quarantine orNullWhereLeft(String containerId, String runtime, Integer pid, Path netns, ErrorCode code) {
        try {
            return apply(containerId, runtime, pid, netns, new AtomicInteger(), false, code);
        } catch (EnforcementException e) {
            if (e.code() != ErrorCode.NAMESPACE_MISMATCH) {
                LOG.error("could not quarantine container {} pid {}: {} {}", containerId, pid, e.code().code(),
                        e.getMessage());
                return null;
            }
            LOG.warn("container {} pid {}: {}", containerId, pid, e.getMessage());
            return left.orNull(containerId, runtime, netns, pid, code, false);
        }
    }

    /**
     * The OCI hook's fence (loopback only; no member recorded, so it keeps no other member's
     * policy out) for a container refused NAMESPACE_SHARED by owners none of which could be
     * confirmed in the namespace ({@link UnconfirmedOwners}), under {@code --on-failure quarantine}
     * (the caller's condition): read back first and written only on a difference; not written when, by the
     * namespace's write turn, another member's policy is known to govern it
     * ({@link ContainmentChecks#enforcedForAnother}: an owner's resync re-recorded it meanwhile).
     * Null then, or when it cannot be written (the refusal is reported with nothing written).
     */
    Quarantine fenceUngoverned(String containerId, String runtime, Integer pid, Path netns) {
        try {
            return apply(containerId, budget -> pinner.pin(pid, containerId, runtime, netns, budget.at()),
                    new AtomicInteger(), true, null, true);
        } catch (Freed governed) {
            LOG.info("container {} pid {}: another member's policy governs its namespace now; not fenced", containerId,
                    pid);
            return null;
        } catch (EnforcementException e) {
            LOG.error("could not fence container {} pid {}: {} {}", containerId, pid, e.code().code(), e.getMessage());
            return null;
        }
    }

    /**
     * Where the container's namespace is (pinned and let go at once), for a failure that writes
     * nothing ({@code on-failure leave}, or a quarantine that could not be written), so that the
     * reconciler tracks the container and retries it; null when it cannot be pinned, or, without
     * the runtime's {@code netns}, when the pid's namespace has no interface but {@code lo} (a
     * namespace the workload made, which an apply would refuse): then nothing is known to track.
     */
    EnforcementTarget located(String containerId, String runtime, Integer pid, Path netns) {
        boolean pathless = !NamespacePinner.isRuntimeBind(netns);
        try (PinnedNamespace ns = pinner.pin(pid, containerId, runtime, netns,
                clock.instant().plus(config.quarantineBudget()), pathless)) {
            if (pathless && checks.onlyLoopback(ns)) {
                LOG.debug("container {} pid {} not located: its namespace has only lo", containerId, pid);
                return null;
            }
            return new EnforcementTarget(ns.pid(), ns.id().device(), ns.id().inode());
        } catch (RuntimeException e) {
            LOG.debug("container {} pid {} not located: {}", containerId, pid, e.getMessage());
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
     * member from before the write (no longer when its first quarantine cannot be written); null
     * for the hook's fence and a re-check of it. NAMESPACE_QUARANTINED (quarantined only because
     * another member is) records nothing, and when no such member is left by the namespace's write
     * turn nothing is written: {@link Freed}. An attempt whose write in the namespace failed still
     * quarantines the host side ({@link #hostSideAfterAll}).
     */
    Quarantine apply(String containerId, String runtime, Integer pid, Path netns,
            AtomicInteger attempts, boolean checkFirst, ErrorCode code) {
        return apply(containerId, budget -> pinner.pin(pid, containerId, runtime, netns, budget.at()), attempts,
                checkFirst, code, false);
    }

    /**
     * As above, each attempt's namespace pinned by {@code pinning} (given the budget);
     * {@code unlessGoverned}: {@link Freed}, nothing written, when another member's policy governs
     * the namespace by its write turn ({@link #fenceUngoverned}).
     */
    Quarantine apply(String containerId, java.util.function.Function<Deadline, PinnedNamespace> pinning,
            AtomicInteger attempts, boolean checkFirst, ErrorCode code, boolean unlessGoverned) {
        Deadline budget = new Deadline(clock, clock.instant().plus(config.quarantineBudget()));
        boolean follower = code == ErrorCode.NAMESPACE_QUARANTINED;
        return retried.run(budget, attempts, () -> {
            try (PinnedNamespace ns = pinning.apply(budget)) {
                boolean recorded = code != null && !follower && checks.quarantined(ns, containerId, code);
                try {
                    return write(containerId, ns, budget, checkFirst, follower, unlessGoverned);
                } catch (NotWritten w) {
                    boolean held = hostSideAfterAll(containerId, ns, code, w.getCause());
                    if (recorded && !held) {
                        // its first quarantine is in force nowhere; one that was stays, whatever this re-write met
                        checks.notQuarantined(ns.id(), containerId);
                    }
                    throw w.rethrown();
                } catch (RuntimeException e) {
                    if (recorded) {
                        checks.notQuarantined(ns.id(), containerId);
                    }
                    throw e;
                }
            }
        });
    }

    private Quarantine write(String containerId, PinnedNamespace ns, Deadline budget, boolean checkFirst,
            boolean follower, boolean unlessGoverned) {
        PlannedRules plan = pipeline.quarantinePlan();
        FirewallBackend backend = selector.backend();
        String drift;
        try {
            drift = checkFirst ? pipeline.drift(ns, backend, plan, budget).orElse(null) : null;
            if (!checkFirst || drift != null) {
                pipeline.writeQuarantine(ns, backend, plan, budget, () -> {
                    if (follower && !checks.quarantinedBesides(ns.id(), containerId)
                            || unlessGoverned && checks.enforcedForAnother(ns.id(), containerId)) {
                        throw new Freed();
                    }
                });
            }
        } catch (Freed freed) {
            throw freed;
        } catch (RuntimeException | Error e) {
            throw new NotWritten(e);
        }
        // reported as held only where the container cannot get past it (as an apply's outcome)
        HostGuards.Result host = checks.claimable(quarantineHostSide(containerId, ns, plan), ns, containerId);
        String differed = checkFirst ? both(drift, host.drift()) : drift;
        if (!checkFirst || differed != null) {
            LOG.warn("quarantined container {} ({}), guards {}", containerId, ns, host.guards());
        }
        return new Quarantine(plan, backend, host.guards(), new EnforcementTarget(ns.pid(), ns.id().device(), ns.id().inode()), differed);
    }

    /**
     * After the namespace could not be quarantined (a workload holding CAP_NET_ADMIN can keep its
     * ruleset changing so that no read-back verifies): its host side, which it cannot touch, is
     * quarantined all the same before {@code failure} is retried or reported, as the success path
     * would have: for the container's own failure always (its record then stays, so the pod's other
     * members are refused with NAMESPACE_QUARANTINED as after a quarantine that was written, and a
     * sibling's resync does not write its policy back over the shared veth's chain); for a follower
     * only while another member is still quarantined; for the hook's fence only while no other
     * member's policy is in force. True when the host side now holds the quarantine.
     */
    private boolean hostSideAfterAll(String containerId, PinnedNamespace ns, ErrorCode code, Throwable failure) {
        boolean due = code == ErrorCode.NAMESPACE_QUARANTINED ? checks.quarantinedBesides(ns.id(), containerId)
                : code != null || !checks.enforcedForAnother(ns.id(), containerId);
        if (!due) {
            return false;
        }
        try {
            return quarantineHostSide(containerId, ns, pipeline.quarantinePlan()).guards().contains(HostGuards.HOST);
        } catch (RuntimeException hostFailed) {
            failure.addSuppressed(hostFailed);
            return false;
        }
    }

    /** The namespace's quarantine write failed with the cause; the host side is still to be decided. */
    private static final class NotWritten extends RuntimeException {
        private static final long serialVersionUID = 1L;

        NotWritten(Throwable cause) {
            super(cause.getMessage(), cause, false, false);
        }

        /** The cause, to be thrown: an Error as it is, else the RuntimeException. */
        RuntimeException rethrown() {
            if (getCause() instanceof Error e) {
                throw e;
            }
            return (RuntimeException) getCause();
        }
    }

    /**
     * A container to be quarantined only because another member of its namespace was found no
     * longer quarantined in the namespace's write turn: nothing was written, and its own policy
     * may be applied instead; or one to be fenced ({@link #fenceUngoverned}) whose namespace
     * another member's policy was found to govern there: nothing was written.
     */
    static final class Freed extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Freed() {
            super("no longer due by the namespace's write turn", null, false, false);
        }
    }
}
