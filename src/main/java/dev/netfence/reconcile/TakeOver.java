package dev.netfence.reconcile;

import dev.netfence.enforce.Enforcer;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Brings the live set up to date with the journal when this instance takes partitions over, so
 * that two instances of one node (a rolling update with surge, an instance that stood by after
 * being fenced and joins again) do not each keep only the containers whose events they handled
 * themselves: read once at start, the live set missed the containers the other instance started,
 * changed or released in the meantime, and resyncs, policy updates and releases missed them until
 * the next restart. On every assignment ({@link #request}) one read runs on its own thread (a
 * request during a read queues one more): first every journal write of this instance queued so far
 * is waited for, then the whole journal is read (bounded: a read that fails keeps the live set as
 * it is, logged), then, under each container's lock, the journal's entry is taken where it differs
 * from this instance's ({@link LiveSet#adopt}), unless this instance's process is still the
 * container's and the journal's is not (the journal's is stale: this one is kept and written again
 * with {@link LiveSet#journalAgain}); an entry the journal no longer has and whose process is gone
 * is checked, and that correction releases it with its cleanup; one whose stop this instance
 * handled is not taken. Containers this instance changed since the read began, or whose last
 * journal write is not acknowledged or failed, are left as they are: there this instance's entry
 * is the newer one. The enforcer learns the adopted namespace owners ({@link OwnerRestore}) and
 * releases the namespaces of entries that moved; every container taken or kept is checked at once
 * ({@code checkSoon}, called after every read that completed, also with none).
 */
public final class TakeOver implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TakeOver.class);

    /** Told when a read has ended: the epoch it started in, and the containers to check (null when it failed). */
    @FunctionalInterface
    public interface Done {
        void done(long epoch, Set<String> check);
    }

    /** The journal as a take-over reads it. */
    public interface Journal {
        /** Waits until every write queued so far is acknowledged or failed. */
        void flush() throws InterruptedException;

        /** The containers whose last write failed or is not acknowledged yet. */
        Collection<String> unwritten();

        /** This node's entries, the whole topic read (bounded; throws when it cannot be read). */
        List<LiveContainer> read() throws InterruptedException;
    }

    private final LiveSet live;
    private final ContainerLocks locks;
    private final Enforcer enforcer;
    private final Predicate<LiveContainer> stillThere;
    /** Told of every container whose entry is taken from the journal, under its lock. */
    private final java.util.function.Consumer<String> onAdopted;
    private final Journal journal;
    private final Done checkSoon;
    private final java.util.function.LongSupplier epoch;
    /** The timeline of the stops remembered in the live set. */
    private final java.time.Clock steady;
    private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "netfence-take-over");
        t.setDaemon(true);
        return t;
    });
    private final AtomicBoolean queued = new AtomicBoolean();

    /**
     * {@code adopted}: told of every container whose entry is taken from the journal, under its lock
     * (what this instance knew of its outcomes is not the other instance's: {@link OutcomeMarks#forget}).
     */
    TakeOver(LiveSet live, ContainerLocks locks, Enforcer enforcer, Predicate<LiveContainer> stillThere,
            java.util.function.Consumer<String> adopted, Journal journal, Done checkSoon,
            java.util.function.LongSupplier epoch, java.time.Clock steady) {
        this.epoch = Objects.requireNonNull(epoch, "epoch");
        this.steady = Objects.requireNonNull(steady, "steady");
        this.live = Objects.requireNonNull(live, "live");
        this.locks = Objects.requireNonNull(locks, "locks");
        this.enforcer = Objects.requireNonNull(enforcer, "enforcer");
        this.stillThere = Objects.requireNonNull(stillThere, "stillThere");
        this.onAdopted = Objects.requireNonNull(adopted, "adopted");
        this.journal = Objects.requireNonNull(journal, "journal");
        this.checkSoon = Objects.requireNonNull(checkSoon, "checkSoon");
    }

    /** Partitions were assigned: one read soon (never blocks; at most one queued behind a running one). */
    void request() {
        if (queued.compareAndSet(false, true)) {
            try {
                thread.execute(() -> {
                    queued.set(false);
                    runOnce();
                });
            } catch (java.util.concurrent.RejectedExecutionException closed) {
                queued.set(false);
            }
        }
    }

    /**
     * One read and merge; failures are logged, the live set then stays as it was. {@code checkSoon}
     * is called after every read, with the epoch it started in (the caller's: it tells a read begun
     * before this instance last stood by or joined again from one begun after) and the containers to
     * check (null when the read failed).
     */
    void runOnce() {
        long started = epoch.getAsLong();
        Set<String> check = null;
        live.watchChanges();
        try {
            journal.flush();
            Set<String> unwritten = new HashSet<>(journal.unwritten());
            List<LiveContainer> read = journal.read();
            check = merge(read, unwritten);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.warn("could not read the live-set journal after taking partitions over; the containers another"
                    + " instance of this node started or released meanwhile stay unknown here until a later"
                    + " take-over or restart: {}", e.toString());
        } finally {
            live.stopWatching();
        }
        checkSoon.done(started, check);
    }

    /** The containers to check. */
    private Set<String> merge(List<LiveContainer> read, Set<String> unwritten) {
        Map<String, LiveContainer> journaled = new LinkedHashMap<>();
        read.forEach(c -> journaled.put(c.containerId(), c));
        Set<String> ids = new HashSet<>(journaled.keySet());
        Collection<LiveContainer> before = live.all();
        before.forEach(c -> ids.add(c.containerId()));
        Collection<LiveContainer> all = new java.util.ArrayList<>(before); // for judging restored owners, once
        all.addAll(read);
        Set<String> check = new HashSet<>();
        int adopted = 0;
        int kept = 0;
        for (String id : ids) {
            ReentrantLock lock = locks.of(id);
            lock.lock();
            try {
                if (live.changedWhileWatched(id) || unwritten.contains(id) || !live.journaled(id).isDone()) {
                    continue; // this instance's entry is the newer one
                }
                LiveContainer theirs = journaled.get(id);
                LiveContainer ours = live.get(id).orElse(null);
                if (ours != null && (theirs == null || !theirs.sameState(ours))) {
                    if (stillThere.test(ours) && (theirs == null || !stillThere.test(theirs))) {
                        // the journal's is stale (a tombstone or an entry written by an instance that did not know
                        // this container's present): this one's process is there, so it stays, and is written again
                        live.journalAgain(id);
                        check.add(id); // the other instance may have written another policy into its namespace
                        kept++;
                        continue;
                    }
                    if (theirs == null) {
                        check.add(id); // gone here too: the correction finds it gone and releases it, cleanup and all
                        continue;
                    }
                }
                if (theirs != null && stoppedHere(theirs, ours)) {
                    if (ours != null) {
                        check.add(id);
                    }
                    continue;
                }
                if (theirs != null && (ours == null || !theirs.sameState(ours))) {
                    if (ours != null && !ours.netns().equals(theirs.netns())) {
                        enforcer.released(ours.netns());
                        enforcer.left(id, ours.netns());
                    }
                    live.adopt(theirs);
                    onAdopted.accept(id); // a mark theirs carries is said again here, not cleared (review 203 #1)
                    OwnerRestore.restore(List.of(theirs), all, enforcer, stillThere);
                    check.add(id);
                    adopted++;
                }
            } finally {
                lock.unlock();
            }
        }
        LOG.info("live set after taking partitions over: {} entries taken from the journal (written by another"
                + " instance of this node), {} kept against it (their process is here), {} to be checked, {}"
                + " containers", adopted, kept, check.size(), live.size());
        return check;
    }

    /**
     * Whether this instance processed a stop of {@code theirs}' instance (a stop of a container it did
     * not know writes no tombstone, so the other instance's entry outlives it in the journal): the
     * stop's pid is theirs or unknown, theirs did not start after it, and its process is gone. It is
     * not taken, and its tombstone is written now where this instance has no entry of its own.
     */
    private boolean stoppedHere(LiveContainer theirs, LiveContainer ours) {
        Optional<LiveSet.Stop> stop = live.stopOf(theirs.containerId(), steady.instant());
        if (stop.isEmpty() || stop.get().pid() != null && stop.get().pid() != theirs.pid()
                || theirs.startedAt() != null && theirs.startedAt().isAfter(stop.get().occurredAt())
                || stillThere.test(theirs)) {
            return false; // not that stop's instance (a later start, or its process is running)
        }
        if (ours == null) {
            live.journalRemoved(theirs.containerId());
        }
        return true;
    }

    @Override
    public void close() {
        thread.shutdownNow();
    }
}
