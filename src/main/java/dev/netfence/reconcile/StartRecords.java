package dev.netfence.reconcile;

import static dev.netfence.reconcile.ResultReads.applied;
import static dev.netfence.reconcile.ResultReads.isGone;
import static dev.netfence.reconcile.ResultReads.netns;

import dev.netfence.core.EnforcementResult;
import dev.netfence.core.EnforcementTarget;
import dev.netfence.core.ErrorCode;
import dev.netfence.enforce.Enforcer;
import dev.netfence.event.ContainerEvent;
import dev.netfence.event.Trigger;
import dev.netfence.netns.ProcessStart;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The live-set entry a container event's enforcement leaves: applied, quarantined, or failed where
 * the container's namespace is known (refused NAMESPACE_SHARED, {@code on-failure leave}, a
 * quarantine that could not be written: not in force, retried at each resync) is recorded (with the
 * start time of the very instance, which never moves back, so a stop in between cannot release it);
 * a failure that wrote nothing known where the container is already recorded keeps that entry (what
 * is in force there) and only learns a task it lacked; a failure before the container was found
 * keeps what was; one that says the container cannot be reached releases it (but one that
 * quarantined the runtime's namespace through another process of the container is recorded),
 * unless the entry's own pid is
 * still where it was recorded (a stale start) or still a process of the container (moved,
 * {@link MoveReports#moved}). A container found in another namespace than recorded has the old
 * namespace released. Split from {@link Corrections}, which owns the rest of an entry's life.
 */
final class StartRecords {
    private static final Logger LOG = LoggerFactory.getLogger(StartRecords.class);

    private final LiveSet live;
    private final MovedPids moves;
    private final MoveReports moveReports;
    private final Enforcer enforcer;
    private final HostGuards guards;
    private final Clock clock;
    private final Path procRoot;
    private final Consumer<LiveContainer> released;

    /** {@code released}: told of every container released from a namespace here. */
    StartRecords(LiveSet live, MovedPids moves, MoveReports moveReports, Enforcer enforcer, HostGuards guards,
            Clock clock, Path procRoot, Consumer<LiveContainer> released) {
        this.live = Objects.requireNonNull(live, "live");
        this.moves = Objects.requireNonNull(moves, "moves");
        this.moveReports = Objects.requireNonNull(moveReports, "moveReports");
        this.enforcer = Objects.requireNonNull(enforcer, "enforcer");
        this.guards = Objects.requireNonNull(guards, "guards");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.procRoot = Objects.requireNonNull(procRoot, "procRoot");
        this.released = Objects.requireNonNull(released, "released");
    }

    /** Records what {@code event}'s enforcement left in force (caller holds the container's lock). */
    void started(ContainerEvent event, EnforcementResult result) {
        String containerId = event.containerId();
        // refused NAMESPACE_MISMATCH with the runtime's namespace quarantined through a process of the container
        // still in it (its pid moved away): that quarantine is recorded, as any other, under that process
        boolean quarantinedThere = result.quarantined() && result.target() != null;
        if (isGone(result) && !quarantinedThere) {
            LiveContainer recorded = live.get(containerId).orElse(null);
            if (recorded != null && moves.present(recorded)) {
                // a stale start (its pid gone or elsewhere): the container recorded is where it was; a hook's fence
                // of an instance the runtime started since learns the event's task (helper 183 F3: no event comes for
                // a restart the runtime makes, and the fence stayed for good), so that the resync applies its policy;
                // not the event's namespace path, the earlier instance's (helper 184)
                if (recorded.taskId() == null && event.taskId() != null) {
                    live.put(new LiveContainer(containerId, event.taskId(), event.nodeId(), event.runtime(),
                            recorded.pid(), recorded.netns(), recorded.netnsPath(), recorded.policyDigest(),
                            recorded.errorCode(), recorded.quarantined(), recorded.backend(), recorded.resolved(),
                            recorded.lastVerified(), recorded.startedAt(), recorded.reported(),
                            recorded.outcomeUnacknowledged()));
                }
                return;
            }
            if (recorded != null && moves.stillInContainer(recorded)) {
                // the event's own outcome reports the failure; a hook fence takes the event's task, to be applied once back
                moveReports.moved(recorded.taskId() != null ? recorded : new LiveContainer(containerId, event.taskId(),
                        event.nodeId(), event.runtime(), recorded.pid(), recorded.netns(), event.netns(), null,
                        ErrorCode.NAMESPACE_MISMATCH.code(), true, recorded.backend(), Map.of(), recorded.lastVerified(),
                        recorded.startedAt()),
                        Trigger.DRIFT, false);
                return;
            }
            moves.back(containerId);
            live.remove(containerId).ifPresent(c -> {
                enforcer.released(c.netns());
                enforcer.left(containerId, c.netns());
                if (!live.othersIn(c.netns(), containerId)) {
                    guards.release(containerId); // else the co-member's correction writes the chain as its own
                }
                released.accept(c);
            });
            return;
        }
        moves.back(containerId);
        LiveContainer before = live.get(containerId).orElse(null);
        EnforcementTarget target = result.target();
        if (target == null) {
            // nowhere known (a dry run, or failed before the container was found: its runtime gave no pid in time): keep
            // what was; a hook's fence of the container learns the event's task (review 209: the fence, recorded first,
            // stayed without its task for good), so that a resync or the correction queued after this applies its policy
            if (!applied(result) && before != null && before.taskId() == null && event.taskId() != null) {
                live.put(new LiveContainer(containerId, event.taskId(), event.nodeId(), event.runtime(), before.pid(),
                        before.netns(), before.netnsPath(), before.policyDigest(), before.errorCode(),
                        before.quarantined(), before.backend(), before.resolved(), before.lastVerified(),
                        before.startedAt(), before.reported(), before.outcomeUnacknowledged()));
            }
            return;
        }
        if (!applied(result) && !result.quarantined() && !refusedShared(result) && before != null
                && before.netns().equals(netns(target))) {
            // failed where it was recorded, nothing written that is known: what is known to be in force there (its
            // rules, a quarantine, the hook's fence) stays recorded, and the resync keeps correcting it; only a task
            // the entry did not know yet (the hook's fence) is learnt, so that its policy reaches it when stored
            if (before.taskId() == null && event.taskId() != null) {
                live.put(new LiveContainer(containerId, event.taskId(), event.nodeId(), event.runtime(), before.pid(),
                        before.netns(), event.netns(), before.policyDigest(), before.errorCode(), before.quarantined(),
                        before.backend(), before.resolved(), before.lastVerified(), before.startedAt(), before.reported(),
                        before.outcomeUnacknowledged()));
            }
            return;
        }
        // failed without a quarantine (refused NAMESPACE_SHARED, on-failure leave, a quarantine that could not be
        // written): tracked as not in force with its task and the refused digest, so that each resync retries it, a
        // policy update of its task (or one bringing that digest, or the other member's leaving) reaches it, and a
        // resync releases it once gone; never left out, which would leave it without rules for good
        live.put(new LiveContainer(containerId, event.taskId(), event.nodeId(), event.runtime(), target.pid(),
                netns(target), pathTo(event.netns(), netns(target), containerId), result.policyDigest(),
                applied(result) ? null : result.error().code(), result.quarantined(), result.backend(),
                result.resolved(), clock.instant(), startedAt(before, target, event), LiveContainer.Reported.of(result)));
        if (before != null && !before.netns().equals(netns(target))) {
            LOG.info("container {} moved from namespace inode {} to {}", containerId, before.netns().inode(),
                    target.netnsInode());
            enforcer.released(before.netns());
            enforcer.left(containerId, before.netns());
            released.accept(before);
        }
    }

    /**
     * The start time an entry records for the instance {@code target} after {@code event}: the
     * event's, but never earlier than what is known of that very instance (a stop in between must
     * not release it): its recorded start, or, where none is (the hook fenced it; its own start event
     * not seen), when its process started, for an event that occurred before (a replayed start of an
     * earlier instance under the id, without pid, which the runtime answered with this one's).
     */
    private Instant startedAt(LiveContainer before, EnforcementTarget target, ContainerEvent event) {
        if (before == null || before.pid() != target.pid() || !before.netns().equals(netns(target))) {
            return event.occurredAt();
        }
        Instant known = before.startedAt() != null ? before.startedAt()
                : ProcessStart.of(procRoot, target.pid()).orElse(null);
        return known != null && known.isAfter(event.occurredAt()) ? known : event.occurredAt();
    }

    /**
     * The event's namespace path, unless it is a runtime's path that leads to another namespace than
     * the one recorded ({@code netns}): a stale or mixed-up path, for which the container was
     * quarantined where its pid is ({@code LeftNamespaces}), so that the resyncs pin it there, not
     * through a path that names another namespace (refused at each); then the runtime's path of the
     * recorded namespace in the same directory, or none. Kept when it cannot be read.
     */
    private static String pathTo(String path, dev.netfence.netns.NamespaceId netns, String containerId) {
        if (path == null || !dev.netfence.netns.NamespacePinner.isRuntimeBind(Path.of(path))) {
            return path;
        }
        try {
            if (dev.netfence.netns.NamespaceId.of(Path.of(path)).equals(netns)) {
                return path;
            }
        } catch (java.io.IOException unknown) {
            return path;
        }
        // the runtime's path of the namespace it is recorded in, beside the event's, so that a restart is still told
        // (helper 186 #2); none: not recorded
        String own = dev.netfence.netns.BindPaths.of(netns, Path.of(path).getParent()).orElse(null);
        LOG.warn("container {}: its event's path {} leads to another namespace than inode {}, where it is recorded;"
                + " recorded with {}", containerId, path, netns.inode(), own == null ? "no path" : own);
        return own;
    }

    private static boolean refusedShared(EnforcementResult r) {
        return r.error() != null && ErrorCode.NAMESPACE_SHARED.code().equals(r.error().code());
    }
}
