package dev.netfence.reconcile;

import dev.netfence.core.EnforcementResult;
import dev.netfence.enforce.Enforcer;
import dev.netfence.event.ContainerEvent;
import dev.netfence.event.Outcomes;
import dev.netfence.event.Trigger;
import dev.netfence.policy.PolicyDigest;
import dev.netfence.policy.store.PolicyStore;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps every live container on this node equal to its task's current policy, from the first
 * packet to the last (Felix-style: a full read-back on a timer plus a correction on every
 * change). Inputs: container events (through {@link ContainerLifecycle}, from the pipeline's
 * workers), policy changes (a {@link PolicyStore} listener: every live container of that task is
 * corrected at once, ahead of resync work), the OCI hook's {@link #fence}, and a resync every
 * {@code interval} (±10% jitter, first one as soon as the policy store has caught up) that reads
 * back every live container's rules. Corrections run on a small pool, each under its container's
 * lock ({@link Corrections}); a container is queued at most once per kind of work and corrected by
 * one thread at a time ({@link CorrectionQueue}); resyncs are {@link ResyncPasses}, run when
 * {@link ResyncSchedule} says. A correction's outcome never overtakes the outcome of an event the
 * pipeline has yet to publish for the same container ({@link OutcomeOrder}). Metrics:
 * timer {@code netfence.resync.duration}, counters {@code netfence.drift.repairs{backend}} and
 * {@code netfence.reconcile.outcomes{trigger,status}}, {@code netfence.reconcile.pid.moved} and
 * {@code netfence.resync.overdue} (a resync whose checks were not done within two intervals), gauge
 * {@code netfence.live.containers}.
 */
public final class Reconciler implements ContainerLifecycle, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Reconciler.class);

    private final LiveSet live;
    private final ContainerLocks locks = new ContainerLocks();
    private final Corrections corrections;
    private final OutcomeOrder order;
    /** The live-set entries' marks of outcomes not acknowledged (journaled, so a restart says them again). */
    private final OutcomeMarks marks;
    private final Enforcer enforcer;
    private final PolicyStore policies;
    private final HostGuards guards;
    private final Clock clock;
    /** Deadlines, the outcome order's holds and the stopped containers' hour (never the wall clock's steps). */
    private final Clock steady;
    private final String nodeId;
    private final CorrectionQueue queue;
    private final ResyncPasses passes;
    private final ResyncHealth health;
    private final ResyncSchedule resyncs;
    private final HookFences fences;
    private final StaleStarts stale;
    private volatile TakeOver takeOver;
    /** Standing by, or joined again and the journal not read again yet: nothing is resynced or corrected. */
    private volatile StandbyGate gate;
    private volatile boolean closed;

    /**
     * @param interval resync interval (the issue's {@code --resync-interval}, default 30 s)
     * @param threads how many corrections run at once
     * @param clock stamps what is journaled and published
     * @param steady the timeline of the corrections' deadlines, of how long outcomes are held in order and
     *     of how long a stopped container is remembered (the enforcer's: {@link
     *     dev.netfence.core.SteadyClock#system()} in netfence), which no step of the wall clock moves
     * @param deadline the per-correction deadline, as an event's
     */
    public Reconciler(LiveSet live, Enforcer enforcer, PolicyStore policies, Outcomes outcomes,
            OutcomePublisher publisher, HostGuards guards, Clock clock, Clock steady, MeterRegistry registry, String nodeId,
            Duration interval, int threads, Duration deadline, Path procRoot) {
        this.live = Objects.requireNonNull(live, "live");
        this.enforcer = Objects.requireNonNull(enforcer, "enforcer");
        this.policies = Objects.requireNonNull(policies, "policies");
        this.guards = Objects.requireNonNull(guards, "guards");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.steady = Objects.requireNonNull(steady, "steady");
        this.nodeId = Objects.requireNonNull(nodeId, "nodeId");
        if (interval == null || interval.toMillis() < 100) {
            throw new IllegalArgumentException("resync interval must be at least 100ms, was: " + interval);
        }
        if (threads < 1 || threads > 64) {
            throw new IllegalArgumentException("reconcile threads must be 1-64, was: " + threads);
        }
        this.marks = new OutcomeMarks(live, locks, new UnsentOutcomes(), this::waiting); // none cleared standing by
        this.order = new OutcomeOrder(Objects.requireNonNull(publisher, "publisher"), steady); // holds: steady
        HookSettling settling = new HookSettling(steady);
        this.corrections = new Corrections(live, locks, policies, enforcer, outcomes, order, guards, clock,
                steady, deadline, procRoot, registry, settling, marks);
        this.corrections.onRelease(this::correctCoMembers);
        this.stale = new StaleStarts(live, corrections, steady);
        // nothing corrected while what this instance knows may be stale (standing by, until the journal is read again)
        this.queue = new CorrectionQueue(threads, (id, trigger) -> {
            if (!waiting()) {
                corrections.correct(id, trigger);
            }
        });
        this.health = new ResyncHealth(steady, interval, deadline);
        this.passes = new ResyncPasses(live, this::submit, guards, queue, registry, health);
        this.resyncs = new ResyncSchedule(passes, health, policies, interval, () -> closed, this::waiting);
        this.gate = new StandbyGate(steady, false, () -> { }); // until the journal is read on take-overs
        // a restarted container's own policy once its hook settled: its apply reads its capabilities
        this.fences = new HookFences(live, locks, corrections, enforcer, clock, nodeId, this::correctCoMembers,
                id -> java.util.concurrent.CompletableFuture.runAsync(() -> submit(id, Trigger.POLICY_UPDATE, () -> { }),
                        java.util.concurrent.CompletableFuture.delayedExecutor(settling.remaining(id).toMillis(),
                                java.util.concurrent.TimeUnit.MILLISECONDS)), settling,
                id -> submit(id, Trigger.DRIFT, 0, () -> { }), () -> closed || waiting());
    }

    /**
     * Hands the enforcer the namespace owners and the quarantined members of the live set restored
     * from the journal ({@link OwnerRestore}). Call before the pipeline processes events.
     */
    public void restoreNamespaceOwners() {
        OwnerRestore.restore(live.all(), enforcer, corrections::stillThere);
    }

    /** Listens to the policy store and schedules the first resync (after the store caught up). */
    public Reconciler start() {
        order.expireEvery(java.time.Duration.ofSeconds(1));
        policies.onChange(this::policyChanged);
        resyncs.start();
        return this;
    }

    public LiveSet liveSet() {
        return live;
    }

    /**
     * Why this instance is not ready on account of its resyncs ({@code /readyz}, after the
     * pipeline's reasons): a pass overdue, failed or stuck, or none for four intervals while one
     * was due ({@link ResyncHealth}), or, after this instance joined again, its corrections waiting
     * for the journal ({@link StandbyGate#reason}); empty when they keep up, while it stands by (the
     * pipeline says so) and once it is closed.
     */
    public java.util.Optional<String> notReadyReason() {
        if (closed) {
            return java.util.Optional.empty();
        }
        if (waiting()) {
            return gate.reason();
        }
        return health.notReadyReason();
    }

    /** How many resync cycles have completed (for tests and /metrics). */
    public long cycles() {
        return passes.done();
    }

    @Override
    public EnforcementResult started(ContainerEvent event, Enforcement enforcement) throws InterruptedException {
        ReentrantLock lock = locks.of(event.containerId());
        lock.lockInterruptibly();
        try {
            order.expect(event.containerId(), event.eventId());
            Optional<EnforcementResult> skip = stale.skipOf(event);
            if (skip.isPresent()) {
                LOG.info("start event {} of container {} (occurred {}): nothing applied, {}", event.eventId(),
                        event.containerId(), event.occurredAt(), skip.get().error().message());
                return skip.get();
            }
            EnforcementResult result = enforcement.run();
            corrections.started(event, result);
            // a policy update or delete that landed during the apply found no live entry to queue for
            live.get(event.containerId()).filter(corrections::behindStore)
                    .ifPresent(c -> submit(c.containerId(), Trigger.POLICY_UPDATE, () -> { }));
            return result;
        } finally {
            order.handled(event.containerId(), event.eventId()); // its outcome's hold starts now, not before the apply
            lock.unlock();
        }
    }

    /** Whether {@code event} is a start {@link #started} skips, as far as can be told without the container's lock. */
    @Override
    public boolean staleStart(ContainerEvent event) {
        return stale.skipOf(event).isPresent();
    }

    @Override
    public Optional<String> stopped(ContainerEvent event) {
        ReentrantLock lock = locks.of(event.containerId());
        lock.lock();
        try {
            order.expect(event.containerId(), event.eventId());
            LiveContainer current = live.get(event.containerId()).orElse(null);
            if (current != null && current.startedAfter(event) && corrections.recordedInstance(current, current.pid())) {
                // the stop of an earlier instance (a late or replayed stop), processed after the one started since
                String why = current.keptAgainst(event);
                LOG.info(why);
                return Optional.of(why);
            }
            live.stopped(event.containerId(), steady.instant(), event.occurredAt(),
                    event.pid() != null ? event.pid() : current == null ? null : current.pid());
            LiveContainer removed = live.remove(event.containerId()).orElse(null);
            if (removed != null) {
                enforcer.released(removed.netns());
                enforcer.left(removed.containerId(), removed.netns());
            }
            // a pod's shared veth keeps its chain until a member rewrites it; a container not live here (a stop
            // delivered again, or replayed) releases nothing: the chains its earlier stop left to the pod's other
            // members, one of which may never rewrite them (a member whose pid moved is not corrected), are theirs
            // now (helper 183 F2), and a chain of a container netfence no longer tracks goes with its interface
            if (removed != null && !live.othersIn(removed.netns(), removed.containerId())) {
                guards.release(event.containerId());
            }
            corrections.stopped(event.containerId());
            if (removed != null) {
                correctCoMembers(removed);
            }
            return Optional.empty();
        } finally {
            order.handled(event.containerId(), event.eventId());
            lock.unlock();
        }
    }

    @Override
    public void published(dev.netfence.event.Outcome outcome) {
        order.published(outcome);
    }

    @Override
    public void dropped(dev.netfence.event.Outcome outcome) {
        order.dropped(outcome);
    }

    @Override // the reconciler's outcomes published before the event are acknowledged: its outcome may go
    public java.util.concurrent.CompletableFuture<Void> reportable(String containerId, String eventId) {
        return order.ready(containerId, eventId);
    }

    @Override // what the event recorded is journaled: the pipeline commits its offset only then
    public java.util.concurrent.CompletableFuture<Void> journaled(String containerId) {
        return live.journaled(containerId);
    }

    /**
     * The OCI hook: fences {@code pid}'s namespace (quarantine, loopback only) before the
     * container's process runs, and keeps it in the live set until its start event replaces the
     * fence with the policy. A container already enforced through this very pid and namespace
     * (its event came first) is left alone. A container id enforced before through another
     * instance (a restart of the same id: new pid, new namespace, its stop not processed or never
     * sent) is fenced like a new one, keeping its task, whose policy then replaces the fence at
     * once (a correction, reported as {@code policy-update}) without waiting for an event that a
     * restart by the runtime itself never sends. A container netfence does not know whose pid is in
     * a namespace where another container's policy is in force (a pod's new member) is not fenced:
     * that policy is what judges its traffic, as it would after its event.
     */
    public EnforcementResult fence(String containerId, int pid, String runtime) {
        return fences.fence(containerId, pid, runtime);
    }

    /**
     * A container left namespace {@code gone.netns()} (stopped or released): a pod's veth has one
     * host chain, the last writer's, so the members left write theirs again now, ahead of a
     * resync's queue, and one kept out by the container that left is applied.
     */
    private void correctCoMembers(LiveContainer gone) {
        for (LiveContainer other : live.all()) {
            if (other.netns().equals(gone.netns()) && !other.containerId().equals(gone.containerId())) {
                submit(other.containerId(), Trigger.DRIFT, 0, () -> { });
            }
        }
    }

    /**
     * Checks every live container whose id {@code which} accepts now, ahead of a resync's queue (a
     * full or quiet correction, which applies its host guard again): the host guard asks for it
     * when a container it guards holds an IPv6 address another container was just first guarded
     * with, which that container's next guard no longer binds.
     */
    public void checkSoon(java.util.function.Predicate<String> which) {
        for (LiveContainer c : live.all()) {
            if (which.test(c.containerId())) {
                submit(c.containerId(), Trigger.DRIFT, 0, () -> { });
            }
        }
    }

    /** From now on the journal is read again whenever partitions are assigned ({@link TakeOver}); wiring, before start. */
    public void readJournalOnTakeOver(TakeOver.Journal journal) {
        // adopted entries are checked at once; before the store caught up, the first resync checks them (and all)
        StandbyGate reading = new StandbyGate(steady, true, resyncs::soon);
        gate = reading;
        takeOver = new TakeOver(live, locks, enforcer, corrections::stillThere, marks::forget, journal, (began, ids) -> {
            if (ids == null) {
                return; // a failed read ends no pause: the next take-over's read, or the pause's bound, does
            }
            if (reading.readEnded(began)) {
                resyncs.soon(); // what was not corrected meanwhile (a stop's co-members, the hook's policy) is checked
            }
            if (policies.isCaughtUp()) {
                checkSoon(ids::contains);
            }
        }, reading::epoch, steady);
    }

    /** No resync pass and no correction while this instance stands by, and after, see {@link StandbyGate}. */
    @Override
    public void standingBy(boolean on) {
        gate.standingBy(on);
    }

    private boolean waiting() {
        return gate.waiting();
    }

    @Override
    public void partitionsAssigned() {
        gate.assigned();
        TakeOver t = takeOver;
        if (t != null && !closed) {
            t.request();
        }
    }

    /** Runs one resync now and waits for all of it (tests); retries failed journal writes. */
    public void resyncNow() throws InterruptedException {
        passes.run(null);
    }

    /**
     * The task's containers; and the members of their namespaces refused NAMESPACE_SHARED for the
     * very digest the task's policy has now, which the update may free (ahead of the resync, as a
     * drift check: their own policy did not change; none for a re-put of the same policy).
     */
    private void policyChanged(String taskId) {
        if (waiting()) {
            return; // the instance that fenced this one applies it; the next resync here checks it against the store
        }
        if (!policies.isCaughtUp()) {
            // the store is still reading its topic (the start): a task's record may yet be followed by a newer
            // one, so nothing is applied from a partial read; the first resync, once it caught up, checks every
            // container against the store
            return;
        }
        String digest = policies.validPolicy(taskId).map(PolicyDigest::of).orElse(null);
        for (LiveContainer c : live.ofTask(taskId)) {
            submit(c.containerId(), Trigger.POLICY_UPDATE, () -> { });
            for (LiveContainer r : live.refusedIn(c.netns())) {
                if (digest != null && digest.equals(r.policyDigest()) && !taskId.equals(r.taskId())) {
                    submit(r.containerId(), Trigger.DRIFT, 0, () -> { });
                }
            }
        }
    }

    private boolean submit(String containerId, Trigger trigger, Runnable after) {
        return submit(containerId, trigger, trigger == Trigger.POLICY_UPDATE ? 0 : 1, after);
    }

    /** Queues a correction; {@code priority} 0 runs before resync checks (1). */
    private boolean submit(String containerId, Trigger trigger, int priority, Runnable after) {
        return !closed && queue.submit(containerId, trigger, priority, after);
    }

    /**
     * Holds no event outcome any more (at shutdown, before the pipeline drains), so the drain does
     * not wait out its bound for an acknowledgement ({@link OutcomeOrder#releaseEvents}).
     */
    public void releaseHeldOutcomes() {
        order.releaseEvents();
    }

    @Override
    public void close() {
        closed = true;
        fences.close();
        if (takeOver != null) {
            takeOver.close();
        }
        resyncs.close();
        queue.close();
        order.close();
        marks.close();
    }
}
