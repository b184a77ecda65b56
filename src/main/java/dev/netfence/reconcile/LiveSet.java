package dev.netfence.reconcile;

import dev.netfence.core.MeterNames;
import dev.netfence.event.ContainerEvent;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The containers netfence enforces on this node (its desired state: each one governed by its
 * task's current policy), indexed by containerId, by taskId and (members refused NAMESPACE_SHARED)
 * by namespace, plus a bounded memory of
 * containers recently stopped so that a {@code container.started} processed after its
 * {@code container.stopped} (reordering, replay) is refused instead of leaving rules and an
 * entry behind; a start that occurred after the stop (the same id started again, as {@code podman
 * stop} then {@code podman start} does) is not. Every change of state is written to the {@link LiveSetJournal}; a verification
 * that found nothing to change is not (it only moves {@code lastVerified}). Callers change one
 * container only under its {@link ContainerLocks lock}; reads are lock-free. Gauge
 * {@code netfence.live.containers}.
 */
public final class LiveSet {
    /** How many stopped containers are remembered, and for how long. */
    static final int MAX_STOPPED = 10_000;
    static final Duration STOPPED_TTL = Duration.ofHours(1);

    private final Map<String, LiveContainer> byId = new ConcurrentHashMap<>();
    private final Map<String, Set<String>> byTask = new ConcurrentHashMap<>();
    /** Per namespace, the containers whose last apply was refused NAMESPACE_SHARED (see {@link #refusedIn}). */
    private final Map<dev.netfence.netns.NamespaceId, Set<String>> refusedByNetns = new ConcurrentHashMap<>();
    private final LinkedHashMap<String, Stop> stopped = new LinkedHashMap<>(64, 0.75f, false);
    private final LiveSetJournal journal;
    /** The containers whose entry changed here while a take-over read runs ({@link #watchChanges}); null otherwise. */
    private volatile Set<String> changedWhileWatched;

    public LiveSet(LiveSetJournal journal, MeterRegistry registry) {
        this.journal = Objects.requireNonNull(journal, "journal");
        Gauge.builder("netfence.live.containers", byId, Map::size)
                .description("containers netfence enforces and reconciles on this node")
                .register(registry);
        Gauge.builder(MeterNames.JOURNAL_UNWRITTEN, journal, LiveSetJournal::unwrittenCount)
                .description("live-set entries not yet acknowledged by the enforcements topic (failed ones are written "
                        + "again at every resync)")
                .register(registry);
    }

    /** Adds or replaces a container's entry; written to the journal when its state changed. */
    public void put(LiveContainer c) {
        LiveContainer before = byId.put(c.containerId(), c);
        if (before != null && !Objects.equals(before.taskId(), c.taskId())) {
            unindex(before);
        }
        if (before != null) {
            unindexRefused(before);
        }
        indexRefused(c);
        if (c.taskId() != null) {
            index(byTask, c.taskId(), c.containerId());
        }
        if (!c.sameState(before)) {
            journal.record(c);
        }
        changed(c.containerId()); // after the journal took the write: see watchChanges
    }

    /**
     * From now on remembers every container whose entry is put or removed, or whose stop is
     * remembered, until {@link #stopWatching}: a take-over ({@link TakeOver}) leaves those as they
     * are here. A change is noted after its journal write is queued, so a change not noted was
     * queued before this call.
     */
    void watchChanges() {
        changedWhileWatched = ConcurrentHashMap.newKeySet();
    }

    /** The containers changed since {@link #watchChanges}; stops watching. */
    Set<String> stopWatching() {
        Set<String> changed = changedWhileWatched;
        changedWhileWatched = null;
        return changed == null ? Set.of() : changed;
    }

    /** Whether {@code containerId} changed since {@link #watchChanges} (false when not watching). */
    boolean changedWhileWatched(String containerId) {
        Set<String> changed = changedWhileWatched;
        return changed != null && changed.contains(containerId);
    }

    private void changed(String containerId) {
        Set<String> changed = changedWhileWatched;
        if (changed != null) {
            changed.add(containerId);
        }
    }

    /**
     * Takes {@code c} as read from the journal, which another instance of this node wrote after
     * this one's entry (a take-over, {@link TakeOver}): replaces this one's entry, not journaled
     * (the journal has it already).
     */
    void adopt(LiveContainer c) {
        LiveContainer before = byId.put(c.containerId(), c);
        if (before != null) {
            unindex(before);
            unindexRefused(before);
        }
        if (c.taskId() != null) {
            index(byTask, c.taskId(), c.containerId());
        }
        indexRefused(c);
    }

    /** Writes {@code containerId}'s entry to the journal again (a take-over found the journal's stale). */
    void journalAgain(String containerId) {
        LiveContainer c = byId.get(containerId);
        if (c != null) {
            journal.record(c);
        }
    }

    /** Writes a tombstone for {@code containerId}, not known here (a take-over found it stopped here). */
    void journalRemoved(String containerId) {
        if (!byId.containsKey(containerId)) {
            journal.remove(containerId);
        }
    }

    /** Completes when the container's journal writes so far are acknowledged or failed ({@link LiveSetJournal#settled}). */
    public CompletableFuture<Void> journaled(String containerId) {
        return journal.settled(containerId);
    }

    /** Writes again the entries whose journal write failed (each resync); how many. */
    public int retryJournal() {
        return journal.retryFailed();
    }

    /** An entry read back from the journal at start: kept unless the container is already known here. */
    public void restore(LiveContainer c) {
        if (byId.putIfAbsent(c.containerId(), c) == null) {
            if (c.taskId() != null) {
                index(byTask, c.taskId(), c.containerId());
            }
            indexRefused(c);
        }
    }

    /** Moves {@code lastVerified}; not journaled. */
    public void verified(String containerId, Instant at) {
        byId.computeIfPresent(containerId, (id, c) -> c.verifiedAt(at));
    }

    /** Releases a container's entry (tombstone in the journal); what it was, if anything. */
    public Optional<LiveContainer> remove(String containerId) {
        LiveContainer before = byId.remove(containerId);
        if (before != null) {
            unindex(before);
            unindexRefused(before);
            journal.remove(containerId);
        }
        changed(containerId);
        return Optional.ofNullable(before);
    }

    public Optional<LiveContainer> get(String containerId) {
        return Optional.ofNullable(byId.get(containerId));
    }

    /** The live containers of {@code taskId} on this node. */
    public List<LiveContainer> ofTask(String taskId) {
        Set<String> ids = byTask.get(taskId);
        if (ids == null) {
            return List.of();
        }
        List<LiveContainer> out = new ArrayList<>(ids.size());
        for (String id : ids) {
            LiveContainer c = byId.get(id);
            if (c != null) {
                out.add(c);
            }
        }
        return out;
    }

    /**
     * The live containers in namespace {@code netns} whose last apply was refused NAMESPACE_SHARED
     * (another member held another policy): a policy update of a task sharing that namespace may be
     * what they wait for ({@code Reconciler} re-queues them with it).
     */
    public List<LiveContainer> refusedIn(dev.netfence.netns.NamespaceId netns) {
        Set<String> ids = netns == null ? null : refusedByNetns.get(netns);
        if (ids == null) {
            return List.of();
        }
        List<LiveContainer> out = new ArrayList<>(ids.size());
        for (String id : ids) {
            LiveContainer c = byId.get(id);
            if (c != null && refused(c) && c.netns().equals(netns)) {
                out.add(c);
            }
        }
        return out;
    }

    /**
     * Whether a container other than {@code containerId} is live in namespace {@code netns} (a pod's
     * other member): then the host chain of their shared veth is left to that member's correction,
     * which writes it as its own, rather than removed first ({@code Reconciler}). A walk of every
     * entry: called once per release.
     */
    public boolean othersIn(dev.netfence.netns.NamespaceId netns, String containerId) {
        for (LiveContainer c : byId.values()) {
            if (c.netns().equals(netns) && !c.containerId().equals(containerId)) {
                return true;
            }
        }
        return false;
    }

    /** A snapshot of every entry. */
    public Collection<LiveContainer> all() {
        return List.copyOf(byId.values());
    }

    public int size() {
        return byId.size();
    }

    /**
     * Remembers that {@code containerId} stopped: its {@code container.stopped} event, which
     * occurred at {@code occurredAt}, was processed at {@code at} (on a steady clock: only its age
     * matters); {@code pid} is the stopped
     * instance's (the event's, else the live entry's; null when neither told it). Bounded: oldest
     * and expired go first, by {@code at}.
     */
    public void stopped(String containerId, Instant at, Instant occurredAt, Integer pid) {
        synchronized (stopped) {
            stopped.remove(containerId);
            stopped.put(containerId, new Stop(at, Objects.requireNonNull(occurredAt, "occurredAt"), pid));
            expire(at);
        }
        changed(containerId);
    }

    /** The remembered stop of {@code containerId}, if within the window. */
    public Optional<Stop> stopOf(String containerId, Instant now) {
        synchronized (stopped) {
            expire(now);
            return Optional.ofNullable(stopped.get(containerId));
        }
    }

    /** How many stopped containers are remembered (for tests and the memory bench). */
    int stoppedRemembered() {
        synchronized (stopped) {
            return stopped.size();
        }
    }

    private void expire(Instant now) {
        Instant cutoff = now.minus(STOPPED_TTL);
        Iterator<Map.Entry<String, Stop>> it = stopped.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<String, Stop> e = it.next();
            if (stopped.size() > MAX_STOPPED || e.getValue().at().isBefore(cutoff)) {
                it.remove();
            } else {
                break;
            }
        }
    }

    /**
     * A remembered stop: when it was processed (for the window), when it occurred and which pid
     * stopped (for telling a late start of that instance from a new one).
     */
    public record Stop(Instant at, Instant occurredAt, Integer pid) {

        /**
         * Whether {@code start} is of the stopped instance or an earlier one (a reordered or
         * replayed start), so must not be enforced: it occurred no later than the stop, unless it
         * occurred at most {@link #CLOCK_SKEW} before the stop and names a pid other than the stopped
         * one, or none (then its pid is the runtime's answer now: the running instance, or none). That
         * is the same id started again (podman restart: a new pid) within the emitters' timestamp
         * resolution (a second, which the contract allows) or their clocks' skew; refused, it ran
         * unfenced, or fenced for good by the OCI hook, with no entry for a resync.
         */
        public boolean covers(ContainerEvent start) {
            if (start.occurredAt().isAfter(occurredAt)) {
                return false;
            }
            boolean otherPid = start.pid() == null || pid != null && !pid.equals(start.pid());
            return !(otherPid && !start.occurredAt().isBefore(occurredAt.minus(CLOCK_SKEW)));
        }
    }

    /** How far before a stop a start with another pid may have occurred and still be a new instance. */
    static final Duration CLOCK_SKEW = Duration.ofSeconds(10);

    private static boolean refused(LiveContainer c) {
        return c.netns() != null && "NAMESPACE_SHARED".equals(c.errorCode());
    }

    private void indexRefused(LiveContainer c) {
        if (refused(c)) {
            index(refusedByNetns, c.netns(), c.containerId());
        }
    }

    private void unindexRefused(LiveContainer c) {
        if (refused(c)) {
            refusedByNetns.computeIfPresent(c.netns(), (n, ids) -> {
                ids.remove(c.containerId());
                return ids.isEmpty() ? null : ids;
            });
        }
    }

    /**
     * Adds {@code id} to {@code key}'s set inside the map's atomic step: added outside it, an id
     * could land in a set that a removal had just emptied and dropped, and be lost from the index.
     */
    private static <K> void index(Map<K, Set<String>> map, K key, String id) {
        map.compute(key, (k, ids) -> {
            Set<String> set = ids == null ? ConcurrentHashMap.newKeySet() : ids;
            set.add(id);
            return set;
        });
    }

    private void unindex(LiveContainer c) {
        if (c.taskId() == null) {
            return;
        }
        byTask.computeIfPresent(c.taskId(), (t, ids) -> {
            ids.remove(c.containerId());
            return ids.isEmpty() ? null : ids;
        });
    }
}
