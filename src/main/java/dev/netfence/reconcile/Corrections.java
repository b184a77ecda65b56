package dev.netfence.reconcile;

import static dev.netfence.reconcile.ResultReads.applied;
import static dev.netfence.reconcile.ResultReads.isGone;

import dev.netfence.core.EnforcementResult;
import dev.netfence.core.ErrorCode;
import dev.netfence.enforce.EnforcementRequest;
import dev.netfence.enforce.Enforcer;
import dev.netfence.event.ContainerEvent;
import dev.netfence.event.Outcomes;
import dev.netfence.event.Trigger;
import dev.netfence.netns.NamespaceId;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.store.PolicyStore;
import dev.netfence.policy.store.StoredPolicy;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One correction of one live container, under its lock: is it still there (its pid still in the
 * recorded namespace; if not it is released with a {@code removed} outcome, unless the pid is
 * still a process of the container, which moved it: then it is kept as it is, see {@link MoveReports#moved};
 * one there that the enforcer refuses is kept too, see {@link MoveReports#refusedInPlace}), what does its task's
 * policy say now (missing or invalid: quarantine with POLICY_NOT_FOUND / INVALID_POLICY; changed
 * or not in force: apply it), and, on a resync, do the rules read back still equal the plan
 * (the enforcer repairs a difference atomically; a changed hostname address set is reported as
 * {@code re-resolve}, any other difference as {@code drift}, counted in
 * {@code netfence.drift.repairs{backend}}); the read-back is asked for the namespace the
 * container's pid was just found in, so the enforcer may answer it without pinning or entering
 * the namespace while nothing there can have changed ({@code enforce.QuietResyncs}). A quarantined container (no usable policy, or the OCI
 * hook's fence) is read back against the quarantine the same way and rewritten only on a
 * difference. An outcome is published for every change of what is
 * in force, for every repair, and when the risks or guards its last outcome named no longer hold
 * ({@link LiveContainer.Reported}); a check that found nothing only moves {@code lastVerified}, and
 * a retry that fails the same way again publishes nothing new ({@link CorrectionRecords} records
 * what each result leaves). Thread-safe.
 */
final class Corrections {
    private static final Logger LOG = LoggerFactory.getLogger(Corrections.class);

    private final LiveSet live;
    private final ContainerLocks locks;
    private final PolicyStore policies;
    private final Enforcer enforcer;
    private final Outcomes outcomes;
    private final HostGuards guards;
    private final Clock clock;
    /** The timeline of the requests' deadlines (steady: a wall-clock step must not time a correction out). */
    private final Clock steady;
    private final Duration deadline;
    private final MeterRegistry registry;
    private final MovedPids moves;
    private final Path procRoot;
    private final MoveReports moveReports;
    /** What each correction's result leaves: the next entry and its outcome, or the container's release. */
    private final CorrectionRecords records;
    private final TaskDigests digests = new TaskDigests();
    private final StartRecords starts;
    private final RuntimeRestarts restarts;
    /** Told of every container released from a namespace: its co-members there are corrected at once. */
    private volatile java.util.function.Consumer<LiveContainer> onRelease = c -> { };


    /** When hooked containers' capabilities may first be read ({@link #reassertFence}). */
    private final HookSettling settling;
    /** Which containers' last outcome did not get out, here or before a restart (journaled marks). */
    private final OutcomeMarks marks;

    Corrections(LiveSet live, ContainerLocks locks, PolicyStore policies, Enforcer enforcer, Outcomes outcomes,
            OutcomeOrder publisher, HostGuards guards, Clock clock, Clock steady, Duration deadline, Path procRoot,
            MeterRegistry registry, HookSettling settling, OutcomeMarks marks) {
        this.settling = settling;
        this.marks = marks;
        this.live = live;
        this.locks = locks;
        this.policies = policies;
        this.enforcer = enforcer;
        this.outcomes = outcomes;
        this.guards = guards;
        this.clock = clock;
        this.steady = steady;
        this.deadline = deadline;
        this.registry = registry;
        this.moves = new MovedPids(procRoot);
        this.procRoot = procRoot;
        CorrectionOutcomes out = new CorrectionOutcomes(publisher, marks, registry); // a removed one forgets its container
        this.moveReports = new MoveReports(live, moves, outcomes, registry, out, marks::sayAgain);
        this.records = new CorrectionRecords(live, moves, moveReports, enforcer, guards, outcomes, clock, out,
                c -> onRelease.accept(c));
        this.starts = new StartRecords(live, moves, moveReports, enforcer, guards, clock, procRoot, c -> {
            marks.forget(c.containerId()); // released or moved by its event: its outcome says what the entry holds
            onRelease.accept(c);
        });
        this.restarts = new RuntimeRestarts(policies, enforcer, records, moves, digests, steady, deadline,
                c -> onRelease.accept(c));
    }

    /** Brings {@code containerId} in line with its task's current policy; {@code trigger} says why we look. */
    void correct(String containerId, Trigger trigger) {
        ReentrantLock lock = locks.of(containerId);
        lock.lock();
        try {
            LiveContainer c = live.get(containerId).orElse(null);
            if (c == null) {
                return;
            }
            c = marks.current(c); // without its mark once every outcome of it sent here is acknowledged
            if (!moves.present(c) && !moves.stillInContainer(c)) {
                // its recorded process went (a witness the quarantine was written through exited): another process
                // of the container still in the namespace keeps it, and the entry follows that one
                LiveContainer gone = c;
                try {
                    c = moves.another(c).map(gone::through).orElse(c);
                } catch (java.util.concurrent.TimeoutException unknown) {
                    return; // nothing says it is gone: kept as it is, rules and host guard, until a look finishes
                }
                if (c != gone) {
                    live.put(c);
                }
            }
            if (moves.present(c) && RuntimeRestarts.runtimePathGone(c) && restarts.restarted(c, trigger)) {
                // its process is in a namespace of the recorded number whose runtime's path is gone: a namespace
                // the runtime made anew that the kernel gave the old one's number (the pin by the old path fails)
                return;
            }
            if (!moves.present(c)) {
                if (!moves.stillInContainer(c)) {
                    records.release(c, Trigger.DRIFT, "process " + c.pid() + " has left network namespace inode "
                            + c.netns().inode() + " (container gone)");
                    return;
                }
                if (restarts.restarted(c, trigger)) {
                    return;
                }
                // moved out while another process of the container stays in the namespace: the entry follows that
                // one, so what is in force there is still read back, repaired and updated (helper 185 #2: a workload
                // that moved its pid 1 out kept every later resync off its namespace, unseen changes included)
                Optional<Integer> witness = moves.stayedIn(c);
                if (witness.isEmpty()) {
                    moveReports.moved(c, trigger, true);
                    return;
                }
                c = c.through(witness.get());
                live.put(c);
            }
            moves.back(containerId);
            if (c.taskId() == null) {
                if (trigger == Trigger.DRIFT) {
                    reassertFence(c);
                }
                return;
            }
            Optional<StoredPolicy> stored = policies.lookup(c.taskId());
            if (stored.isEmpty()) {
                failClosed(c, trigger, ErrorCode.POLICY_NOT_FOUND, "the policy of task " + c.taskId() + " was deleted");
            } else if (stored.get() instanceof StoredPolicy.Invalid invalid) {
                failClosed(c, trigger, ErrorCode.INVALID_POLICY, "the policy of task " + c.taskId() + " is invalid: "
                        + String.join("; ", invalid.reasons()));
            } else {
                NetworkPolicy policy = ((StoredPolicy.Valid) stored.get()).policy();
                String digest = digests.of(c.taskId(), policy);
                if (!digest.equals(c.policyDigest())) {
                    apply(c, policy, digest, Trigger.POLICY_UPDATE, true);
                } else if (!c.inForce() && !c.quarantined() && trigger == Trigger.DRIFT && transientFailure(c)
                        && c.backend() != null) {
                    // failed transiently at a resync, which quarantines nothing (the resolver down, the lock contended,
                    // a deadline): retried the same way, so one lasting two resyncs does not quarantine what is in force
                    // (only where something was written: a start that failed so, with on-failure leave, is applied
                    // below, whose read-back would find "drift" in the namespace it never wrote and quarantine it)
                    records.after(c, enforcer.reconcile(request(c, policy), c.netns()), digest, Trigger.DRIFT,
                            marks.sayAgain(c));
                } else if (!c.inForce()) {
                    // the same policy failed before: retried at each resync, reported when the state changes (or its
                    // last outcome did not go out)
                    apply(c, policy, digest, trigger == Trigger.DRIFT ? Trigger.DRIFT : Trigger.POLICY_UPDATE,
                            marks.sayAgain(c));
                } else if (trigger == Trigger.DRIFT) {
                    check(c, policy, digest);
                }
            }
        } catch (dev.netfence.enforce.EnforcementInterrupted e) {
            LOG.info("reconciling container {} ({}) given up: {}", containerId, trigger.wire(), e.getMessage());
        } catch (RuntimeException e) {
            LOG.error("reconciling container {} ({}) failed unexpectedly", containerId, trigger.wire(), e);
        } finally {
            lock.unlock();
        }
    }

    /** Records what a container event's enforcement left in force (caller holds the container's lock), see {@link StartRecords}. */
    void started(ContainerEvent event, EnforcementResult result) {
        starts.started(event, result);
    }

    private void apply(LiveContainer c, NetworkPolicy policy, String digest, Trigger trigger, boolean report) {
        EnforcementResult result = enforcer.enforce(request(c, policy));
        records.after(c, result, digest, trigger, report);
    }

    /**
     * Whether the policy store now holds something else for {@code c}'s task than what was decided
     * for it: another valid digest, or none valid where its policy was in force (an update or a
     * delete that landed while its start was applied, before it was in the live set for
     * {@code policyChanged} to find).
     */
    boolean behindStore(LiveContainer c) {
        if (c.taskId() == null) {
            return false;
        }
        Optional<StoredPolicy> stored = policies.lookup(c.taskId());
        if (stored.isPresent() && stored.get() instanceof StoredPolicy.Valid valid) {
            return !digests.of(c.taskId(), valid.policy()).equals(c.policyDigest());
        }
        return c.inForce();
    }

    /** Whether {@code c}'s last failure is one a retry may clear by itself (resolution, lock, verify, deadline). */
    private static boolean transientFailure(LiveContainer c) {
        for (ErrorCode code : ErrorCode.values()) {
            if (code.code().equals(c.errorCode())) {
                return code.retryable() || code == ErrorCode.TIMEOUT;
            }
        }
        return false;
    }

    private void check(LiveContainer c, NetworkPolicy policy, String digest) {
        EnforcementResult result = enforcer.reconcile(request(c, policy), c.netns());
        if (!applied(result)) {
            records.after(c, result, digest, Trigger.DRIFT, false);
            return;
        }
        if (!result.resolved().equals(c.resolved())) {
            LOG.info("container {}: hostnames now resolve to {} (were {}); rules re-applied", c.containerId(),
                    result.resolved(), c.resolved());
            records.after(c, result, digest, Trigger.RE_RESOLVE, true);
        } else if (result.drift() != null) {
            countDrift(c, result, "rule set");
            records.after(c, result, digest, Trigger.DRIFT, true);
        } else if (!java.util.Objects.equals(c.reported(), LiveContainer.Reported.of(result))) {
            // published when c's record said otherwise (an entry of an older version: recorded, nothing to publish)
            if (records.after(c, result, digest, Trigger.DRIFT, false)) {
                LOG.warn("container {}: its outcome said {}; now risks {}, guards {}, warnings {}: published anew",
                        c.containerId(), c.reported(), result.risks(), result.guards(), result.warnings());
            }
        } else if (marks.sayAgain(c)) { // which outcome was not published, and why, logged there
            records.after(c, result, digest, Trigger.DRIFT, true);
        } else {
            live.verified(c.containerId(), clock.instant());
        }
    }

    private void failClosed(LiveContainer c, Trigger trigger, ErrorCode code, String message) {
        boolean already = code.code().equals(c.errorCode()) && c.policyDigest() == null;
        if (already && c.quarantined()) {
            // at a policy update too: a container the runtime restarted (the hook's fence, its task kept) is
            // the namespace's quarantined member from now, not from the next resync
            recheckQuarantine(c, code, message, true);
            return;
        }
        if (already && trigger != Trigger.DRIFT) {
            return;
        }
        EnforcementResult result = enforcer.failClosed(c.containerId(), c.runtime(), c.pid(), netnsPath(c), code,
                message);
        records.after(c, result, null, trigger == Trigger.DRIFT && already ? Trigger.DRIFT : Trigger.POLICY_UPDATE,
                !already || marks.sayAgain(c));
    }

    /**
     * Reads back the hook's fence of a container whose event has not come yet; repairs it on a
     * difference. Not in a namespace where another container's policy is in force (a pod's infra
     * container, which never gets an event): that policy governs the namespace, and writing the
     * fence over it cut the pod off at every resync until its member's own correction wrote the
     * policy again; there its capabilities are read instead ({@code Enforcer#joined}).
     */
    private void reassertFence(LiveContainer c) {
        // what it holds now that it runs, for the other members of its namespace: also under a quarantine its capabilities
        // brought on them, which lifts once it drops them; not before its hook settled (HookSettling)
        if (settling.remaining(c.containerId()).isZero()) {
            enforcer.joined(c.containerId(), c.pid(), c.netns());
        }
        if (enforcer.enforcedForAnother(c.netns(), c.containerId())) {
            live.verified(c.containerId(), clock.instant());
            return;
        }
        recheckQuarantine(c, ErrorCode.POLICY_NOT_FOUND,
                "fenced by the OCI hook until the container's start event is processed", false);
    }

    /**
     * A quarantined container at a resync: the quarantine is read back like any plan; a difference
     * is repaired, counted and logged (and, for a container with a task, reported as drift); a
     * quarantine that holds only moves {@code lastVerified}.
     */
    private void recheckQuarantine(LiveContainer c, ErrorCode code, String message, boolean report) {
        // report: a container with a task and no usable policy, the namespace's quarantined member; else the hook's fence
        EnforcementResult result = enforcer.recheckQuarantine(c.containerId(), c.runtime(), c.pid(), netnsPath(c),
                code, message, report);
        if (isGone(result)) {
            records.releaseUnlessMoved(c, Trigger.DRIFT, result);
        } else if (result.quarantined() && result.drift() == null) {
            boolean again = report && marks.sayAgain(c); // its last outcome did not go out
            if (again || report && !java.util.Objects.equals(c.reported(), LiveContainer.Reported.of(result))) {
                records.after(c, result, null, Trigger.DRIFT, again); // its guards changed: published when c's record said so
            } else {
                live.verified(c.containerId(), clock.instant());
            }
        } else if (!report) {
            countDrift(c, result, "fence");
            live.verified(c.containerId(), clock.instant());
        } else {
            countDrift(c, result, "quarantine");
            records.after(c, result, null, Trigger.DRIFT, result.drift() != null);
        }
    }

    /** Counts and logs a repaired difference ({@code what}: rules, quarantine or fence), if there was one. */
    private void countDrift(LiveContainer c, EnforcementResult result, String what) {
        if (result.drift() == null) {
            return;
        }
        String backend = result.backend() == null ? "unknown" : result.backend();
        registry.counter("netfence.drift.repairs", "backend", backend).increment();
        LOG.warn("container {}: its {} differed from the plan and was repaired ({}): {}", c.containerId(), what,
                backend, result.drift());
    }

    /** Whether {@code pid} is {@code c}'s recorded pid, still in its recorded namespace: the very instance recorded. */
    boolean recordedInstance(LiveContainer c, int pid) {
        return c.pid() == pid && moves.present(c);
    }

    /** {@code hook} is told of every container released ({@link CorrectionRecords#release}, {@link StartRecords}). */
    void onRelease(java.util.function.Consumer<LiveContainer> hook) {
        this.onRelease = hook;
    }

    /** Whether {@code c}'s recorded pid is still in its recorded namespace or still a process of the container. */
    boolean stillThere(LiveContainer c) {
        return moves.in(c.pid(), c.netns()) || moves.stillInContainer(c);
    }

    /** Whether {@code pid} is in {@code c}'s recorded namespace (false when that cannot be read). */
    boolean inNamespaceOf(LiveContainer c, int pid) {
        return moves.in(pid, c.netns());
    }

    /** The namespace {@code pid} is in, or null when that cannot be read. */
    NamespaceId namespaceOf(int pid) {
        return moves.namespaceOf(pid);
    }

    /** The container stopped (its {@code container.stopped} event): nothing of it is remembered here. */
    void stopped(String containerId) {
        moves.back(containerId);
        marks.forget(containerId); // nor of its outcomes: an id that comes back starts afresh (review 203 #2)
    }

    private EnforcementRequest request(LiveContainer c, NetworkPolicy policy) {
        // with the answers last verified, which a reconciliation keeps for a name that does not resolve now
        return new EnforcementRequest(c.containerId(), c.runtime(), c.pid(), netnsPath(c), policy,
                steady.instant().plus(deadline), c.taskId(), c.resolved());
    }

    /**
     * The runtime's bind path the event named, which names the namespace for every resync; a
     * {@code /proc/PID/ns/net} path is left out: it only said where a process was when the event
     * came ({@link dev.netfence.netns.NamespacePinner#isRuntimeBind}), and the entry's pid (the
     * event's, or a witness's through which a quarantine was written) may be in another namespace
     * than that process now, which made every resync a NAMESPACE_MISMATCH that never read the
     * rules back. The recorded namespace and pid say where the container is.
     */
    private static Path netnsPath(LiveContainer c) {
        Path path = c.netnsPath() == null ? null : Path.of(c.netnsPath());
        return dev.netfence.netns.NamespacePinner.isRuntimeBind(path) ? path : null;
    }
}
