package dev.netfence.enforce;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.EnforcementTarget;
import dev.netfence.core.ErrorCode;
import dev.netfence.hostguard.GuardChain;
import dev.netfence.hostguard.HostGuards;
import dev.netfence.netns.NamespacePinner;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.rules.PlannedRules;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One attempt of an apply or a reconciliation, which {@link DefaultEnforcer} retries
 * ({@link RetriedAttempts}): pin the container's namespace, read its risky capabilities and run
 * the containment checks ({@link ContainmentChecks}), resolve and plan ({@link ApplyPipeline}),
 * write both families (a reconciliation reads back first and writes only on a difference) while
 * the host guard is written on a thread of its own ({@link ConcurrentGuard}), and make sure the
 * container is still there and still alone in its claim; before the host guard is claimed for a
 * namespace whose members hold CAP_NET_RAW or CAP_NET_ADMIN, transmit checksum offload is turned
 * off inside it ({@link ChecksumCompletion}). What an attempt learns on its way (that
 * it changed the rules, the risks it read, where it pinned) goes into holders the caller passes,
 * which outlive a failed attempt: the caller's outcome and quarantine decision need them. A
 * container verified through the in-process nft backend is remembered for its quiet resyncs
 * ({@link QuietResyncs}). A class of its own so that the enforcer keeps to retrying and failing
 * closed. Holds no per-call state; one instance serves all threads.
 */
final class ApplyAttempts {
    private final NamespacePinner pinner;
    private final ContainmentChecks checks;
    private final ApplyPipeline pipeline;
    private final BackendSelector selector;
    private final HostGuards hostGuards;
    private final QuietResyncs quiet;
    private final java.nio.file.Path procRoot;

    ApplyAttempts(NamespacePinner pinner, ContainmentChecks checks, ApplyPipeline pipeline, BackendSelector selector,
            HostGuards hostGuards, QuietResyncs quiet, java.nio.file.Path procRoot) {
        this.pinner = Objects.requireNonNull(pinner, "pinner");
        this.checks = Objects.requireNonNull(checks, "checks");
        this.pipeline = Objects.requireNonNull(pipeline, "pipeline");
        this.selector = Objects.requireNonNull(selector, "selector");
        this.hostGuards = Objects.requireNonNull(hostGuards, "hostGuards");
        this.quiet = Objects.requireNonNull(quiet, "quiet");
        this.procRoot = Objects.requireNonNull(procRoot, "procRoot");
    }

    /**
     * Why the pinned process is no longer in the namespace written, or null when it is after all
     * (the pin confirms through one path, the leader's or one thread's, which goes when that
     * thread exits, {@code pthread_exit} from main, while another thread lives on in the
     * namespace): CONTAINER_NOT_FOUND when it
     * exited (the container is gone), NAMESPACE_MISMATCH when it lives on in another namespace: it
     * moved while its rules were written (a workload that watches for its rules to land and then
     * unshares), so the container runs, its other processes or connections maybe still in the
     * namespace it left. As for a pid found outside the container's namespace at the pin, the
     * caller quarantines that namespace through one of them and the container stays tracked;
     * reported {@code skipped}, it was forgotten, so no policy change or repair reached it.
     */
    private EnforcementException left(PinnedNamespace ns) {
        try {
            dev.netfence.netns.NamespaceId now = dev.netfence.netns.ProcTasks.namespaceOf(procRoot, ns.pid());
            if (now.equals(ns.id())) {
                return null; // through a live thread: still there
            }
            return new EnforcementException(ErrorCode.NAMESPACE_MISMATCH, "process " + ns.pid()
                    + " left network namespace inode " + ns.inode() + " while its rules were being applied; it is in"
                    + " inode " + now.inode() + " now");
        } catch (java.io.IOException | RuntimeException gone) {
            // exited: below
        }
        return new EnforcementException(ErrorCode.CONTAINER_NOT_FOUND,
                "process " + ns.pid() + " exited while its rules were being applied");
    }

    /**
     * Runs one attempt; {@code checkFirst}: a reconciliation. Sets {@code touched} once the rules in
     * force are no longer those verified before, {@code risks} to the capabilities read,
     * {@code pinned} to where the namespace was pinned, and notes in {@code repairs} each difference
     * a reconciliation's read-back finds, so that a later attempt finding them repaired does not
     * erase them; {@code keep}: a reconciliation's attempt that keeps the last verified answers of a
     * name that does not resolve ({@link KeptAnswers}; not the first of several, so that a brief
     * failure of the resolver is retried first, as before).
     */
    Applied once(EnforcementRequest request, Deadline deadline, AtomicBoolean touched,
            AtomicReference<List<String>> risks, AtomicReference<EnforcementTarget> pinned, boolean checkFirst,
            RepairsFound repairs, boolean keep) {
        // opened before the pin: alive after the checks means they read this very process (see QuietResyncs)
        dev.netfence.netns.ProcessIdentity process = quiet.before(request);
        boolean kept = false;
        try (PinnedNamespace ns = pinner.pin(request.pid(), request.containerId(), request.runtime(), request.netns(),
                deadline.at(), checks.interfacesChecked(request))) {
            pinned.set(target(ns));
            ContainmentChecks.RiskRead riskRead = checks.riskRead(request, ns, risks); // now if a refusal needs them
            try {
                // a namespace left with lo only: the container's host-side veths, wherever their peer went, are closed
                checks.check(request, ns, risks.get(), pipeline.digest(request.policy()), process,
                        () -> hostGuards.close(GuardChain.ownerOf(request.containerId(), ns.pid())));
                // a reconciliation keeps the last verified answers of a name that does not resolve now, to read back
                List<String> stale = new java.util.ArrayList<>();
                Map<String, List<InetAddress>> resolved = pipeline.resolveHostnames(request.policy(), deadline,
                        checkFirst ? request.lastResolved() : Map.of(), checkFirst && keep, stale);
                PlannedRules plan = pipeline.plan(request.policy(), resolved);
                FirewallBackend backend = selector.backend();
                if (checkFirst || backend.inProcessNft() == null) {
                    riskRead.run(); // else while a namespace thread writes, the write's meanwhile
                }
                // the host guard is written meanwhile, on its own thread; both are done before anything is reported
                ConcurrentGuard host = ConcurrentGuard.start(hostGuards, GuardChain.ownerOf(request.containerId(), ns.pid()),
                        ns.path(), plan);
                String drift;
                try {
                    drift = checkFirst ? pipeline.drift(ns, backend, plan, deadline).orElse(null) : null;
                    if (drift != null) {
                        touched.set(true); // the rules verified before are gone: a failed repair quarantines, as after a commit
                        repairs.add(drift);
                    }
                    if (!checkFirst || drift != null) {
                        pipeline.write(ns, backend, plan, deadline, touched, () -> checks.confirm(ns, request.containerId()),
                                riskRead);
                    }
                    if (!ns.occupied()) { // the pin kept the namespace alive for the writes
                        EnforcementException left = left(ns);
                        if (left != null) {
                            throw left;
                        }
                    }
                } catch (RuntimeException | Error e) {
                    host.awaitQuietly(e);
                    throw e;
                }
                HostGuards.Result guards = host.await();
                if (checkFirst) {
                    repairs.add(guards.drift());
                }
                MemberReads.Beside beside = checks.beside(ns.id(), request.containerId()); // one look for guards and risks
                String notHeld = !guards.host() ? null : riskRead.netAdminOverHost() ? ContainmentChecks.NET_ADMIN_OVER_HOST
                        : ContainmentChecks.reachingHostReason(beside.reachingHost());
                if (notHeld == null && guards.host()) {
                    notHeld = checks.checksumsNotHeld(ns, beside.plus(risks.get()), deadline);
                }
                if (notHeld != null) {
                    guards = guards.notHolding(notHeld);
                    if (hostGuards.mode() == dev.netfence.hostguard.HostGuardMode.REQUIRED) {
                        throw new EnforcementException(ErrorCode.HOST_GUARD_UNAVAILABLE,
                                "--host-guard required, but " + guards.reason());
                    }
                }
                if (hostGuards.mode() != dev.netfence.hostguard.HostGuardMode.OFF) {
                    checks.guardReasons().seen(request.containerId(), guards);
                }
                // a member quarantined since the write turn: its host chain may have been written before this one's
                checks.confirm(ns, request.containerId());
                if (backend.inProcessNft() != null) {
                    quiet.verified(request, process, ns, resolved, risks.get(), riskRead.netAdminOverHost());
                    kept = true;
                }
                pipeline.leftoverWarning(ns.id(), ns.pid()).ifPresent(stale::add); // the same in the quiet resyncs
                return new Applied(plan, resolved, backend, beside.plus(risks.get()), guards.guards(), target(ns),
                        checkFirst ? repairs.all() : drift, beside.risks(), stale);
            } catch (RuntimeException | Error e) {
                riskRead.afterFailure(e); // for the outcome: what an early read would have given it
                throw e;
            }
        } finally {
            if (!kept) {
                quiet.notVerified(process);
            }
        }
    }

    private static EnforcementTarget target(PinnedNamespace ns) {
        return new EnforcementTarget(ns.pid(), ns.id().device(), ns.id().inode());
    }
}
