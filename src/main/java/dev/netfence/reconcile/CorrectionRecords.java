package dev.netfence.reconcile;

import static dev.netfence.reconcile.ResultReads.applied;
import static dev.netfence.reconcile.ResultReads.isGone;
import static dev.netfence.reconcile.ResultReads.netns;

import dev.netfence.core.EnforcementResult;
import dev.netfence.core.EnforcementTarget;
import dev.netfence.enforce.Enforcer;
import dev.netfence.event.Outcome;
import dev.netfence.event.Outcomes;
import dev.netfence.event.Trigger;
import java.time.Clock;
import java.util.Objects;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a correction's enforcement result leaves, for {@link Corrections}: the container's next
 * live-set entry ({@link #after}), published as an outcome when the correction reports itself or
 * what the entry says changed; or, for a result that says the container cannot be reached any
 * more, its release ({@link #release}: live-set tombstone, namespace, host guard, a
 * {@code removed} outcome), unless its recorded pid is still a process of the container
 * ({@link #releaseUnlessMoved}, {@link MoveReports}). Apart from Corrections because every path of
 * a correction (an apply, a read-back, a quarantine, a fence) ends here in the same way, while
 * Corrections decides which path to take; the counterpart of {@link StartRecords}, which records
 * an event's result. An entry whose outcome is published carries the mark of an outcome not
 * acknowledged ({@link OutcomeMarks}), queued to the journal before the outcome is handed to the
 * publisher; one recorded without an outcome keeps the mark it had. Callers hold the container's
 * lock.
 */
final class CorrectionRecords {
    /** Corrections' category, as before this class was split from it (operators' log settings name it). */
    private static final Logger LOG = LoggerFactory.getLogger(Corrections.class);

    private final LiveSet live;
    private final MovedPids moves;
    private final MoveReports moveReports;
    private final Enforcer enforcer;
    private final HostGuards guards;
    private final Outcomes outcomes;
    private final Clock clock;
    private final Consumer<Outcome> publisher;
    private final Consumer<LiveContainer> released;

    /** {@code publisher}: publishes (and counts) an outcome; {@code released}: told of every container released here. */
    CorrectionRecords(LiveSet live, MovedPids moves, MoveReports moveReports, Enforcer enforcer, HostGuards guards,
            Outcomes outcomes, Clock clock, Consumer<Outcome> publisher, Consumer<LiveContainer> released) {
        this.live = Objects.requireNonNull(live, "live");
        this.moves = Objects.requireNonNull(moves, "moves");
        this.moveReports = Objects.requireNonNull(moveReports, "moveReports");
        this.enforcer = Objects.requireNonNull(enforcer, "enforcer");
        this.guards = Objects.requireNonNull(guards, "guards");
        this.outcomes = Objects.requireNonNull(outcomes, "outcomes");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.publisher = Objects.requireNonNull(publisher, "publisher");
        this.released = Objects.requireNonNull(released, "released");
    }

    /**
     * Records what a correction of {@code c} left ({@code digest}: its policy's, null for a
     * quarantine): its next entry, with a {@code trigger} outcome when {@code report} or when what
     * the entry reports changed; a container {@code result} says is unreachable is released unless
     * moved. Nothing is recorded once the thread is interrupted (shutting down). Whether an outcome
     * of {@code result} was published.
     */
    boolean after(LiveContainer c, EnforcementResult result, String digest, Trigger trigger, boolean report) {
        if (interrupted(c)) {
            return false;
        }
        if (isGone(result)) {
            releaseUnlessMoved(c, trigger, result);
            return false;
        }
        return record(c, result, digest, trigger, report);
    }

    /**
     * As {@link #after} for a result that is not the container's being gone, also one whose code
     * says so (a quarantine written through the runtime's path of a namespace the container's pid is
     * not in: what is in force there is recorded, not taken for a moved or gone container).
     */
    boolean record(LiveContainer c, EnforcementResult result, String digest, Trigger trigger, boolean report) {
        if (interrupted(c)) {
            return false;
        }
        EnforcementTarget target = result.target();
        LiveContainer next = new LiveContainer(c.containerId(), c.taskId(), c.nodeId(), c.runtime(),
                target == null ? c.pid() : target.pid(), target == null ? c.netns() : netns(target), c.netnsPath(),
                digest,
                applied(result) ? null : result.error().code(), result.quarantined(),
                result.backend() == null ? c.backend() : result.backend(),
                applied(result) ? result.resolved() : c.resolved(), clock.instant(), c.startedAt(),
                LiveContainer.Reported.of(result), c.outcomeUnacknowledged());
        boolean publish = report || next.reportsOtherThan(c);
        // queued to the journal as not acknowledged before it is handed over: a restart before the topic takes it says
        // the state anew
        live.put(next.unacknowledged(publish || c.outcomeUnacknowledged()));
        if (publish) {
            publisher.accept(outcomes.reconciled(c.containerId(), c.taskId(), c.nodeId(), result, trigger));
        }
        return publish;
    }

    /** Whether the thread is interrupted (shutting down): then nothing of {@code c}'s correction is recorded. */
    private static boolean interrupted(LiveContainer c) {
        if (Thread.currentThread().isInterrupted()) {
            LOG.info("correction of container {} interrupted (shutting down); nothing recorded", c.containerId());
            return true;
        }
        return false;
    }

    /**
     * Releases a container that is gone: live-set entry (tombstone), host guard; outcome
     * {@code removed}. Unlike a {@code container.stopped} event it does not record the container
     * as stopped ({@link LiveSet#stopped}): "gone" here means its recorded pid left its recorded
     * namespace, which is also what a restart of the same container id (podman restart: new pid,
     * new namespace) looks like, and a stopped mark would refuse that restart's
     * {@code container.started} for an hour, leaving it unfenced. A replayed start of a container
     * that is really gone fails on its own (its pid is gone, or the cgroup check refuses a reused
     * one).
     */
    void release(LiveContainer c, Trigger trigger, String why) {
        moves.back(c.containerId());
        live.remove(c.containerId());
        enforcer.released(c.netns());
        enforcer.left(c.containerId(), c.netns());
        if (!live.othersIn(c.netns(), c.containerId())) {
            guards.release(c.containerId()); // else the co-member's correction (onRelease) writes the chain as its own
        }
        released.accept(c);
        LOG.info("released container {} of task {}: {}", c.containerId(), c.taskId(), why);
        publisher.accept(outcomes.released(c.containerId(), c.taskId(), c.nodeId(), trigger));
    }

    /**
     * Releases {@code c} as gone after the enforcer could not reach it, unless its recorded pid is
     * still a process of the container: moved out of its namespace ({@link MoveReports#moved}), or
     * still in it ({@link MoveReports#refusedInPlace}), or another process of the container is
     * left (the entry follows it). One decision for every path that finds a container
     * unreachable, so none of them releases a container the workload only moved, or one whose
     * namespace it changed so that the enforcer refuses it.
     */
    void releaseUnlessMoved(LiveContainer c, Trigger trigger, EnforcementResult result) {
        if (!moves.stillInContainer(c)) {
            // its process went (perhaps one the entry followed a moment ago, which a workload can have exit at once):
            // gone only when no process of the container is left; else the entry follows one, looked at again at the
            // next resync (helper 186 #1: released with its host guard while its pid 1 ran elsewhere)
            java.util.Optional<Integer> other;
            try {
                other = moves.another(c);
            } catch (java.util.concurrent.TimeoutException unknown) {
                return; // nothing says it is gone: kept as it is
            }
            if (other.isPresent() && other.get() != c.pid()) {
                live.put(c.through(other.get()));
                return;
            }
            release(c, trigger, result.error().message());
        } else if (moves.present(c)) {
            moveReports.refusedInPlace(c, trigger, result, clock.instant());
        } else {
            moveReports.moved(c, trigger, true);
        }
    }
}
