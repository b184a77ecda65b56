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
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One attempt at applying a request ({@link DefaultEnforcer} retries them): pin the container's
 * namespace, read its risky capabilities, run the containment checks, plan, write the rules (or,
 * for a resync, compare first and write only a difference) while the host guard is written
 * beside ({@link ConcurrentGuard}), and confirm. The capabilities decide a refusal only under
 * {@code --refuse-capabilities}; otherwise they are only reported, so with the in-process nft
 * backend this thread reads them while a namespace thread writes (the core it would spend
 * waiting), and the apply takes about the longer of the two instead of their sum; the CPU spent
 * is the same. They are read before anything is reported either way, and after a failure that
 * came before the read, so an outcome names them as when they were read first.
 */
final class ApplyAttempts {
    private final EnforcerConfig config;
    private final NamespacePinner pinner;
    private final BackendSelector selector;
    private final ApplyPipeline pipeline;
    private final ContainmentChecks checks;
    private final HostGuards hostGuards;
    private final QuietResyncs quiet;

    ApplyAttempts(EnforcerConfig config, NamespacePinner pinner, BackendSelector selector, ApplyPipeline pipeline,
            ContainmentChecks checks, HostGuards hostGuards, QuietResyncs quiet) {
        this.config = config;
        this.pinner = pinner;
        this.selector = selector;
        this.pipeline = pipeline;
        this.checks = checks;
        this.hostGuards = hostGuards;
        this.quiet = quiet;
    }

    Applied once(EnforcementRequest request, Deadline deadline, AtomicBoolean touched,
            AtomicReference<List<String>> risks, boolean checkFirst) {
        // opened before the pin: alive after the checks means they read this very process (see QuietResyncs)
        dev.netfence.netns.ProcessIdentity process = quiet.before(request);
        boolean kept = false;
        try (PinnedNamespace ns = pinner.pin(request.pid(), request.containerId(), request.runtime(), request.netns(),
                deadline.at(), checks.interfacesChecked(request))) {
            FirewallBackend backend = selector.backend();
            // the capabilities decide a refusal only under --refuse-capabilities: else they are read
            // while the namespace thread writes (an in-process trip), on the core this thread would wait on
            AtomicBoolean read = new AtomicBoolean();
            Runnable readRisks = () -> {
                if (read.compareAndSet(false, true)) {
                    risks.set(checks.risks(request, ns));
                }
            };
            boolean risksFirst = !config.refuseCapabilities().isEmpty() || backend.inProcessNft() == null;
            try {
                if (risksFirst) {
                    readRisks.run();
                }
                Applied applied = write(request, deadline, touched, risks, checkFirst, process, ns, backend,
                        risksFirst ? null : readRisks);
                if (backend.inProcessNft() != null) {
                    quiet.verified(request, process, ns, applied.resolved(), applied.risks());
                    kept = true;
                }
                return applied;
            } catch (EnforcementException e) {
                if (!read.get()) { // the outcome still names them, as when they were read first
                    try {
                        readRisks.run();
                    } catch (EnforcementException again) {
                        e.addSuppressed(again);
                    }
                }
                throw e;
            }
        } finally {
            if (!kept) {
                quiet.notVerified(process);
            }
        }
    }

    /**
     * The rest of an attempt, once the namespace is pinned: checks, plan, the in-namespace write
     * (with {@code alongside} run beside it) and the host guard, then {@code alongside} again,
     * which does nothing when it ran.
     */
    private Applied write(EnforcementRequest request, Deadline deadline, AtomicBoolean touched,
            AtomicReference<List<String>> risks, boolean checkFirst, dev.netfence.netns.ProcessIdentity process,
            PinnedNamespace ns, FirewallBackend backend, Runnable alongside) {
        checks.check(request, ns, risks.get(), pipeline.digest(request.policy()), process);
        Map<String, List<InetAddress>> resolved = pipeline.resolveHostnames(request.policy(), deadline);
        PlannedRules plan = pipeline.plan(request.policy(), resolved);
        // the host guard is written meanwhile, on its own thread; both are done before anything is reported
        ConcurrentGuard host = ConcurrentGuard.start(hostGuards, GuardChain.ownerOf(request.containerId(), ns.pid()),
                ns.path(), plan);
        String drift;
        try {
            drift = checkFirst ? pipeline.drift(ns, backend, plan, deadline).orElse(null) : null;
            if (drift != null) {
                touched.set(true); // the rules verified before are gone: a failed repair quarantines, as after a commit
            }
            if (!checkFirst || drift != null) {
                pipeline.write(ns, backend, plan, deadline, touched, () -> checks.confirm(ns, request.containerId()),
                        alongside);
            }
            if (alongside != null) {
                alongside.run(); // when nothing was written
            }
            if (!ns.occupied()) {
                // the pin kept the namespace alive for the writes; the container itself is gone
                throw new EnforcementException(ErrorCode.CONTAINER_NOT_FOUND,
                        "process " + ns.pid() + " exited while its rules were being applied");
            }
        } catch (RuntimeException | Error e) {
            host.awaitQuietly(e);
            throw e;
        }
        HostGuards.Result guards = host.await();
        // a member quarantined since the write turn: its host chain may have been written before this one's
        checks.confirm(ns, request.containerId());
        return new Applied(plan, resolved, backend, risks.get(), guards.guards(), target(ns),
                checkFirst ? Quarantines.both(drift, guards.drift()) : drift);
    }

    private static EnforcementTarget target(PinnedNamespace ns) {
        return new EnforcementTarget(ns.pid(), ns.id().device(), ns.id().inode());
    }
}
