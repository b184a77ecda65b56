package dev.netfence.enforce;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.EnforcementResult;
import dev.netfence.core.EnforcementTarget;
import dev.netfence.core.ErrorCode;
import dev.netfence.core.MeterNames;
import dev.netfence.enforce.Quarantines.Quarantine;
import dev.netfence.hostguard.HostGuardMode;
import dev.netfence.hostguard.HostGuards;
import dev.netfence.netns.CommandRunner;
import dev.netfence.netns.ContainerCapabilities;
import dev.netfence.netns.ContainerPidLookup;
import dev.netfence.netns.EndpointResolver;
import dev.netfence.netns.NamespaceFirewall;
import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.NamespacePinner;
import dev.netfence.netns.ProcNamespacePinner;
import dev.netfence.netns.SystemEndpointResolver;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The apply pipeline for one container, with retries and fail-closed handling: pin and guard the
 * namespace, resolve hostnames, plan (DNS only to trusted resolvers, never to what the container names), write both families,
 * verify, and flush the namespace's connection tracking so no earlier flow outlives the new rules
 * (see {@link ApplyPipeline}; one attempt is {@link ApplyAttempts}); the host guard is written
 * meanwhile ({@link ConcurrentGuard}) and the apply ends when both are. Between pinning and
 * writing, {@link ContainmentChecks} reads the container's risky capabilities into the result and
 * refuses what must not be enforced (UNSAFE_CAPABILITIES, a lo-only namespace, NAMESPACE_SHARED:
 * nothing written, unless no owner there could be confirmed, {@link UnconfirmedOwners}: then the
 * OCI hook's fence, which makes it no quarantined member).
 * Any Throwable that escapes an apply is caught at this boundary: INTERNAL_ERROR, and the
 * container is quarantined. Retryable
 * failures are retried by resilience4j-retry with exponential backoff and jitter, never past the request's deadline (an attempt that would start
 * after it ends in TIMEOUT). When the policy cannot be applied in full, the namespace is
 * quarantined (unless {@code on-failure=leave} and nothing was changed yet); failures where there
 * is nothing safe to protect (the container is gone, the namespace is the host's, the pid belongs
 * to another container) are never quarantined. A container whose process exited while its rules
 * were written (the pin kept its namespace alive, so the writes succeeded) is reported skipped
 * with CONTAINER_NOT_FOUND, never applied. A resync of a container verified before, in a
 * namespace whose ruleset has not changed since, skips the pin and the checks when that is
 * provably the same answer ({@link QuietResyncs}). Metrics: counter {@code netfence.retries}
 * (tag {@code code}) and timer {@code netfence.apply.duration} (tag {@code status}). The injected
 * {@code clock} is the timeline of the requests' deadlines and nothing else: netfence passes
 * {@link dev.netfence.core.SteadyClock#system()}, the one the namespace threads check too, so a
 * step of the wall clock neither times out an apply in flight nor stretches a hanging one.
 */
public final class DefaultEnforcer implements Enforcer {
    private static final Logger LOG = LoggerFactory.getLogger(DefaultEnforcer.class);
    /** Failures whose target must not (or cannot) be quarantined. */
    private static final Set<ErrorCode> NO_QUARANTINE = EnumSet.of(ErrorCode.CONTAINER_NOT_FOUND,
            ErrorCode.HOST_NAMESPACE_REFUSED, ErrorCode.NAMESPACE_MISMATCH, ErrorCode.INVALID_EVENT,
            ErrorCode.NAMESPACE_SHARED);

    private final EnforcerConfig config;
    private final Clock clock;
    private final MeterRegistry registry;
    private final BackendSelector selector;
    private final ApplyPipeline pipeline;
    private final ContainmentChecks checks;
    private final ApplyAttempts attempt;
    private final HostGuards hostGuards;
    private final RetriedAttempts retried;
    private final Quarantines quarantines;
    private final QuietResyncs quiet;
    private final EnforcementResults results;
    private final DryRuns dryRuns;
    private final NamespacePinner pinner;

    /**
     * The production wiring: real /proc pinning, the system resolver, commands through
     * {@code runner}, no host guard ({@code netfence run} passes its own {@link HostGuards}).
     * {@code clock} is the requests' deadlines' timeline; the namespace threads of the in-process
     * nft backend check the same deadlines on {@link dev.netfence.core.SteadyClock#system()}, so
     * pass that one (netfence does), or a clock that agrees with it (the system clock, in tests,
     * which no step moves while they run).
     */
    public DefaultEnforcer(EnforcerConfig config, CommandRunner runner, Clock clock, MeterRegistry registry) {
        this(config, runner, clock, registry, HostGuards.create(HostGuardMode.OFF, runner));
    }

    /** The production wiring with the host guards {@code hostGuards} (shared with whoever sweeps them). */
    public DefaultEnforcer(EnforcerConfig config, CommandRunner runner, Clock clock, MeterRegistry registry,
            HostGuards hostGuards) {
        this(config, runner, clock, registry, new SystemEndpointResolver(dev.netfence.core.SteadyClock.startingAt(clock)),
                new ProcNamespacePinner(new ContainerPidLookup(runner, clock), config.procRoot(), config.cgroupCheck()),
                hostGuards);
    }

    /** Full control over every collaborator, for tests and special deployments; no host guard. */
    public DefaultEnforcer(EnforcerConfig config, CommandRunner runner, Clock clock, MeterRegistry registry,
            EndpointResolver resolver, NamespacePinner pinner) {
        this(config, runner, clock, registry, resolver, pinner, HostGuards.create(HostGuardMode.OFF, runner));
    }

    /** Full control over every collaborator, the host guards included. */
    public DefaultEnforcer(EnforcerConfig config, CommandRunner runner, Clock clock, MeterRegistry registry,
            EndpointResolver resolver, NamespacePinner pinner, HostGuards hostGuards) {
        this(config, runner, clock, registry, resolver, pinner, hostGuards, true);
    }

    /**
     * As above; {@code containment} false leaves issue 12's steps out of the apply path (the conntrack flush, the capability
     * read, the lo-only check, the namespace-ownership claim): only for the benchmark's comparison, through a test helper
     * of this package; no command or option reaches it.
     */
    DefaultEnforcer(EnforcerConfig config, CommandRunner runner, Clock clock, MeterRegistry registry,
            EndpointResolver resolver, NamespacePinner pinner, HostGuards hostGuards, boolean containment) {
        this(config, runner, clock, registry, resolver, pinner, hostGuards, containment,
                dev.netfence.core.SteadyClock.system());
    }

    /**
     * As above; {@code scans}: what the budget of a scan for a namespace owner's processes, and the
     * age of a quiet resync's capability read, are measured on (tests).
     */
    DefaultEnforcer(EnforcerConfig config, CommandRunner runner, Clock clock, MeterRegistry registry,
            EndpointResolver resolver, NamespacePinner pinner, HostGuards hostGuards, boolean containment, Clock scans) {
        this.hostGuards = Objects.requireNonNull(hostGuards, "hostGuards");
        this.config = Objects.requireNonNull(config, "config");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.registry = Objects.requireNonNull(registry, "registry");
        this.pinner = Objects.requireNonNull(pinner, "pinner");
        this.selector = new BackendSelector(config.backend(), runner, config.procRoot(), clock);
        this.pipeline = new ApplyPipeline(new NamespaceFirewall(runner, config.lockWaitSeconds()),
                new ConntrackFlushChoice(config.procRoot(), runner), selector, resolver, config, containment);
        // one reader for the apply and the quiet resync: one cache of cgroup directories, one warning
        ContainerCapabilities capabilities = new ContainerCapabilities(config.procRoot());
        this.checks = new ContainmentChecks(config, registry, containment, capabilities, scans);
        this.retried = new RetriedAttempts(config, registry);
        this.quarantines = new Quarantines(config, clock, pinner, pipeline, selector, hostGuards, retried, checks);
        this.quiet = new QuietResyncs(config, pipeline, selector, hostGuards, capabilities, checks, scans);
        this.attempt = new ApplyAttempts(pinner, checks, pipeline, selector, hostGuards, quiet, config.procRoot());
        this.results = new EnforcementResults(pipeline, config);
        this.dryRuns = new DryRuns(clock, pipeline, retried, results);
        Gauge.builder(MeterNames.TRIPS_ABANDONED, selector, BackendSelector::abandonedTrips)
                .description("trips into container namespaces given up at their deadline and still running")
                .register(registry);
    }

    @Override
    public EnforcementResult enforce(EnforcementRequest request) {
        Timer.Sample sample = Timer.start(registry);
        EnforcementResult result;
        try {
            result = config.dryRun() ? dryRuns.run(request) : apply(request, false, false, new RepairsFound());
        } catch (EnforcementInterrupted e) {
            throw e;
        } catch (Throwable e) { // the event boundary: even an Error gets an outcome, and the container its quarantine
            if (Thread.currentThread().isInterrupted()) {
                throw new EnforcementInterrupted(request.containerId(), e);
            }
            result = unexpected(request, e);
        }
        sample.stop(registry.timer(MeterNames.APPLY_DURATION, "status", result.status()));
        return result;
    }

    /**
     * Reads back and repairs (see {@link Enforcer#reconcile}): the same pinning, checks, planning,
     * retries and fail-closed handling as {@link #enforce}, but the rules are written only when
     * the read-back differs from the plan.
     */
    @Override
    public EnforcementResult reconcile(EnforcementRequest request) {
        return reconcile(request, null);
    }

    /**
     * {@link #reconcile(EnforcementRequest)} for a container whose pid the caller found in
     * namespace {@code recorded}: when nothing the full attempt depends on can have changed since
     * it last verified the container, its result comes without pinning, checking or entering the
     * namespace ({@link QuietResyncs}); otherwise the full attempt runs.
     */
    @Override
    public EnforcementResult reconcile(EnforcementRequest request, NamespaceId recorded) {
        if (config.dryRun()) {
            return enforce(request);
        }
        Timer.Sample sample = Timer.start(registry);
        EnforcementResult result;
        try {
            // the quiet answer skips the claim: not while another member of the namespace is quarantined
            RepairsFound repairs = new RepairsFound(); // a quiet check's host-chain repair outlives its hand-over
            Applied same = recorded == null || checks.quarantinedBesides(recorded, request.containerId()) ? null
                    : quiet.check(request, recorded, new Deadline(clock, request.deadline()), repairs);
            if (same != null && (checks.quarantinedBesides(recorded, request.containerId())
                    || checks.refusedBeside(recorded, request.containerId()) != null)) {
                // quarantined meanwhile, maybe over this host chain, or a member's refused capability read meanwhile:
                // the full attempt settles it
                same = null;
            }
            result = same != null ? results.success(request, same, 1) : apply(request, true, false, repairs);
        } catch (EnforcementInterrupted e) {
            throw e;
        } catch (Throwable e) {
            if (Thread.currentThread().isInterrupted()) {
                throw new EnforcementInterrupted(request.containerId(), e);
            }
            result = unexpected(request, e);
        }
        sample.stop(registry.timer(MeterNames.APPLY_DURATION, "status", result.status()));
        return result;
    }

    /** The runtime's pid of a container (see {@link Enforcer#runtimePid}); none in a dry run, which enters nothing. */
    @Override
    public Integer runtimePid(String containerId, String runtime, Instant deadline) {
        return config.dryRun() ? null : pinner.pidOf(containerId, runtime, deadline);
    }

    /** The OCI hook's fence (see {@link Enforcer#fence}): the quarantine, whatever {@code on-failure} says. */
    @Override
    public EnforcementResult fence(String containerId, String runtime, int pid) {
        return quarantineAnyway(containerId, runtime, pid, null, new EnforcementException(ErrorCode.POLICY_NOT_FOUND,
                "fenced by the OCI hook until the container's start event is processed"), false, null);
    }

    @Override
    public void restoreNamespaceOwner(String containerId, String taskId, int pid, NamespaceId netns, String policyDigest) {
        checks.restoreOwner(netns, containerId, taskId, policyDigest, pid);
    }

    @Override
    public void restoreQuarantined(String containerId, int pid, NamespaceId netns, String code) {
        checks.restoreQuarantined(netns, containerId, code, pid);
    }

    @Override
    public boolean enforcedForAnother(NamespaceId netns, String containerId) {
        return checks.enforcedForAnother(netns, containerId);
    }

    /** Forgets the namespace's verified nft generation (see {@code nft.InProcessNft#drift}). */
    @Override
    public void released(NamespaceId netns) {
        quiet.released(netns);
        FirewallBackend backend = selector.chosen();
        if (backend != null && backend.inProcessNft() != null) {
            backend.inProcessNft().forget(netns);
        }
    }

    /** Reads back a quarantine and repairs it only on a difference (see {@link Enforcer#recheckQuarantine}). */
    @Override
    public EnforcementResult recheckQuarantine(String containerId, String runtime, int pid, Path netns,
            ErrorCode code, String message) {
        return recheckQuarantine(containerId, runtime, pid, netns, code, message, false);
    }

    @Override
    public EnforcementResult recheckQuarantine(String containerId, String runtime, int pid, Path netns,
            ErrorCode code, String message, boolean ownFailure) {
        return quarantineAnyway(containerId, runtime, pid, netns, new EnforcementException(code, message), true,
                ownFailure ? code : null);
    }

    @Override
    public void left(String containerId, NamespaceId netns) {
        checks.left(netns, containerId);
    }

    @Override
    public void joined(String containerId, int pid, NamespaceId netns) {
        checks.joined(netns, containerId, pid);
    }

    private EnforcementResult quarantineAnyway(String containerId, String runtime, int pid, Path netns,
            EnforcementException cause, boolean checkFirst, ErrorCode member) {
        if (config.dryRun()) {
            return results.failed(null, cause, 1, null, List.of());
        }
        AtomicInteger attempts = new AtomicInteger();
        try {
            return results.failed(null, cause, 1,
                    quarantines.apply(containerId, runtime, pid, netns, attempts, checkFirst, member), List.of());
        } catch (EnforcementException e) {
            // its own quarantine, refused where its pid is: read back where it was written, found as it was then (a
            // namespace left behind, or a decoy's quarantined all the same), not rewritten at every other resync
            Quarantine left = e.code() == ErrorCode.NAMESPACE_MISMATCH && member != null
                    ? quarantines.left().orNull(containerId, runtime, netns, pid, member, checkFirst) : null;
            if (left != null) {
                return results.failed(null, cause, 1, left, List.of());
            }
            LOG.warn("could not quarantine container {} pid {}: {} {}", containerId, pid, e.code().code(),
                    e.getMessage());
            return results.failed(null, e, attempts.get(), null, List.of());
        }
    }

    /**
     * Quarantines a container for which there is no usable policy (POLICY_NOT_FOUND,
     * INVALID_POLICY), honouring {@code on-failure}, and returns the failed result to publish.
     * INTERNAL_ERROR (an unexpected throwable caught at the event boundary) is quarantined whatever
     * {@code on-failure} says, as inside the enforcer: the container's rules are in an unknown state.
     */
    public EnforcementResult failClosed(String containerId, String runtime, Integer pid, ErrorCode code, String message) {
        return failClosed(containerId, runtime, pid, null, code, message);
    }

    /** {@link #failClosed(String, String, Integer, ErrorCode, String)} for a container whose event named its {@code netns}. */
    @Override
    public EnforcementResult failClosed(String containerId, String runtime, Integer pid, Path netns, ErrorCode code,
            String message) {
        Timer.Sample sample = Timer.start(registry);
        EnforcementException cause = new EnforcementException(code, message);
        boolean quarantine = config.onFailure() == OnFailure.QUARANTINE || code == ErrorCode.INTERNAL_ERROR;
        Quarantine q = quarantine && !config.dryRun() ? quarantines.orNullWhereLeft(containerId, runtime, pid, netns, code)
                : null;
        EnforcementResult result = results.failed(null, cause, 1, q, List.of(),
                q == null && !config.dryRun() ? quarantines.located(containerId, runtime, pid, netns) : null);
        sample.stop(registry.timer(MeterNames.APPLY_DURATION, "status", result.status()));
        return result;
    }

    /**
     * {@code again}: a second try after the member that kept this container out was found gone
     * ({@link Quarantines.Freed}); {@code repairs}: what the reconciliation found changed so far, which
     * the result's drift reports whichever attempt found it.
     */
    private EnforcementResult apply(EnforcementRequest request, boolean checkFirst, boolean again, RepairsFound repairs) {
        Deadline deadline = new Deadline(clock, request.deadline());
        AtomicInteger attempts = new AtomicInteger();
        AtomicBoolean touched = new AtomicBoolean();
        AtomicReference<List<String>> risks = new AtomicReference<>(List.of());
        AtomicReference<EnforcementTarget> pinned = new AtomicReference<>();
        try {
            Applied applied = retried.run(deadline, attempts,
                    () -> attempt.once(request, deadline, touched, risks, pinned, checkFirst, repairs,
                            attempts.get() > 1 || config.maxAttempts() <= 1));
            return results.success(request, applied, attempts.get());
        } catch (EnforcementException e) {
            if (Thread.currentThread().isInterrupted()) { // netfence stops: given up, not failed (no quarantine)
                throw new EnforcementInterrupted(request.containerId(), e);
            }
            LOG.warn("policy not applied to container {} pid {} after {} attempt(s): {} {}", request.containerId(),
                    request.pid(), attempts.get(), e.code().code(), e.getMessage());
            // a reconciliation that found its rules intact and touched nothing leaves them in force: no quarantine
            // for that (one that found them changed has set touched: they are not in force any more);
            // a container sharing a quarantined namespace is quarantined with it whatever on-failure says (its host side too)
            boolean protect = !NO_QUARANTINE.contains(e.code()) && ((config.onFailure() == OnFailure.QUARANTINE
                    && !checkFirst) || touched.get() || e.code() == ErrorCode.UNSAFE_CAPABILITIES
                    || e.code() == ErrorCode.NAMESPACE_QUARANTINED);
            // the event's pid is not in the container's namespace (the runtime's path, or one it did not make):
            // that namespace, through a process of the container there
            boolean elsewhere = e.code() == ErrorCode.NAMESPACE_MISMATCH && !checkFirst
                    && config.onFailure() == OnFailure.QUARANTINE && !config.dryRun();
            Quarantine q;
            try {
                q = elsewhere ? quarantines.left().orNull(request.containerId(), request.runtime(), request.netns(),
                        request.pid(), e.code(), false)
                        : protect ? quarantines.orNull(request.containerId(), request.runtime(), request.pid(),
                        request.netns(), e.code())
                        // refused by owners none of which is confirmed there: not left without rules, the hook's fence
                        // (on-failure leave writes nothing for a failure, this one too)
                        : UnconfirmedOwners.refused(e) && config.onFailure() == OnFailure.QUARANTINE && !config.dryRun()
                        ? quarantines.fenceUngoverned(request.containerId(),
                        request.runtime(), request.pid(), request.netns()) : null;
            } catch (Quarantines.Freed freed) {
                // the member that kept it out is gone or applied: its own policy instead, once, while time is left;
                // else the quarantine all the same (no member recorded), which the reconciler retries
                if (again || deadline.remaining().compareTo(config.backoffBase()) < 0) {
                    return results.failed(request.policy(), e, attempts.get(), quarantines.orNull(request.containerId(),
                            request.runtime(), request.pid(), request.netns(), null), risks.get(), pinned.get());
                }
                return apply(request, checkFirst, true, repairs);
            }
            // where, when no quarantine says it, so the reconciler tracks what failed and retries it: a member
            // refused for another member's policy (until freed), a failure left as is (on-failure leave) or one whose
            // quarantine could not be written
            return results.failed(request.policy(), e, attempts.get(), q, risks.get(), pinned.get());
        }
    }

    /**
     * A Throwable nothing inside expected (a bug, or an Error such as OutOfMemoryError): reported
     * as INTERNAL_ERROR, and the container quarantined (when not a dry run, and whatever
     * {@code on-failure} says: its rules are in an unknown state). Nothing here may throw.
     */
    private EnforcementResult unexpected(EnforcementRequest request, Throwable e) {
        EnforcementException cause = new EnforcementException(ErrorCode.INTERNAL_ERROR,
                "unexpected " + e.getClass().getName() + ": " + e.getMessage(), e);
        Quarantine q = null;
        try {
            LOG.error("unexpected failure enforcing for container {} pid {}", request.containerId(), request.pid(), e);
            if (!config.dryRun()) {
                q = quarantines.orNull(request.containerId(), request.runtime(), request.pid(), request.netns(),
                        ErrorCode.INTERNAL_ERROR);
            }
        } catch (Throwable again) {
            e.addSuppressed(again);
        }
        return results.failed(request.policy(), cause, 1, q, List.of());
    }

    /** The host guards this enforcer writes (for sweeping, releasing and counting them). */
    public HostGuards hostGuards() {
        return hostGuards;
    }
}
