package dev.netfence.kafka;

import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.common.TopicPartition;

/**
 * The records of one assigned partition that are not yet committed, in offset order, each either
 * still being worked on or done (its outcome/DLQ records acknowledged, or in exactly-once mode,
 * held to be sent in the next transaction). The committable offset is the first record that is
 * not done, so a commit never passes a record without its outcome. One instance per assignment
 * of a partition: a completion that refers to an older instance (the partition was revoked
 * meanwhile) is recognised by identity and ignored. Used only by the poll thread.
 */
final class PartitionOffsets {
    private final TopicPartition partition;
    private final TreeMap<Long, Entry> entries = new TreeMap<>();
    private long next = -1;
    private long committed = -1;
    /** When {@link #committed} was last committed, known or asked for ({@link CommitRefresh}); at first, the assignment. */
    private long committedAt;
    /** Entries {@linkplain #skipped skipped} when taken: done at once, they count only toward the uncommitted bound. */
    private int skipped;
    /** Entries done (skipped ones included): what a commit could let go of, if they lead. */
    private int done;

    private final Clock clock;
    /** Set when the book let the partition go (revoked, lost, assigned again): read by the sink's publisher thread. */
    private volatile boolean released;

    private static final class Entry {
        final long trackedAt;
        boolean done;
        /** Its outputs are acknowledged or held; done when nothing is {@linkplain #await awaited} any more. */
        boolean finished;
        int awaited;
        boolean skipped;
        List<Output> held = List.of();

        Entry(long trackedAt) {
            this.trackedAt = trackedAt;
        }
    }

    /** The partition is no longer this bookkeeping's (see {@link #released}). Any thread. */
    void release() {
        released = true;
    }

    /** Whether the book let the partition go since this bookkeeping was made. Any thread. */
    boolean released() {
        return released;
    }

    PartitionOffsets(TopicPartition partition) {
        this(partition, Clock.systemUTC());
    }

    PartitionOffsets(TopicPartition partition, Clock clock) {
        this.partition = partition;
        this.clock = clock;
        this.committedAt = clock.millis();
    }

    TopicPartition partition() {
        return partition;
    }

    /** A record was taken from the partition and is now being worked on. */
    void track(long offset) {
        Entry before = entries.put(offset, new Entry(clock.millis()));
        if (before != null && before.skipped) {
            skipped--;
        }
        if (before != null && before.done) {
            done--;
        }
        next = Math.max(next, offset + 1);
    }

    /** The record was skipped as it was taken (no work, no output): done, and not in flight (see {@link #inFlight}). */
    void skipped(long offset) {
        Entry e = entries.get(offset);
        if (e != null && !e.skipped) {
            markDone(e);
            e.skipped = true;
            skipped++;
        }
    }

    /** The record's outputs are acknowledged (or it needed none): done unless something is still awaited. */
    void done(long offset) {
        Entry e = entries.get(offset);
        if (e != null) {
            finish(e);
        }
    }

    /** Exactly-once: the record's outputs wait for the next transaction; done unless something is still awaited. */
    void hold(long offset, List<Output> outputs) {
        Entry e = entries.get(offset);
        if (e != null) {
            e.held = List.copyOf(outputs);
            finish(e);
        }
    }

    /**
     * The record is not done, whatever its outputs, until the returned action runs (its live-set
     * entry's journal write, which must not be passed by the commit). The action concerns this
     * tracking of the record only: after a re-track or a commit it does nothing.
     */
    Runnable await(long offset) {
        Entry e = entries.get(offset);
        if (e == null || e.done) {
            return () -> { };
        }
        e.awaited++;
        return () -> {
            if (entries.get(offset) == e && e.awaited > 0 && --e.awaited == 0 && e.finished) {
                markDone(e);
            }
        };
    }

    private void finish(Entry e) {
        e.finished = true;
        if (e.awaited == 0) {
            markDone(e);
        }
    }

    private void markDone(Entry e) {
        if (!e.done) {
            e.done = true;
            done++;
        }
    }

    /** Records done and not yet committed (skipped ones included). */
    int done() {
        return done;
    }

    boolean isTracked(long offset) {
        return entries.containsKey(offset);
    }

    /** Records not yet done. */
    int working() {
        int n = 0;
        for (Entry e : entries.values()) {
            if (!e.done) {
                n++;
            }
        }
        return n;
    }

    /** Records whose outputs are acknowledged or held and whose {@linkplain #await awaited} write is not in yet. */
    int awaited() {
        int n = 0;
        for (Entry e : entries.values()) {
            if (e.finished && !e.done) {
                n++;
            }
        }
        return n;
    }

    /** Records not yet committed (working or done). */
    int uncommitted() {
        return entries.size();
    }

    /**
     * Records not yet committed that count against {@code --max-in-flight}: all but those
     * {@linkplain #skipped skipped as they were taken} (another node's, decided from the key),
     * which hold no work, only their place here until the next commit.
     */
    int inFlight() {
        return entries.size() - skipped;
    }

    /**
     * The offset a commit may name now (first record not done, else one past the last record
     * seen), or -1 when that is not past the last commit. Held outputs of the done prefix are
     * added to {@code sink}, in offset order; the prefix is forgotten only by {@link #committed}.
     */
    long committable(List<Output> sink) {
        return committable(sink, Integer.MAX_VALUE, null);
    }

    /**
     * Like {@link #committable(List)}, but the prefix also ends before the first record whose
     * outputs would take {@code sink} past {@code maxOutputs} new outputs (a record is always taken
     * when it is the first with outputs), and before the record holding {@code stopAt}.
     */
    long committable(List<Output> sink, int maxOutputs, Output stopAt) {
        long upTo = next;
        int added = 0;
        for (Map.Entry<Long, Entry> e : entries.entrySet()) {
            Entry entry = e.getValue();
            if (!entry.done || stopAt != null && containsSame(entry.held, stopAt)
                    || added > 0 && added + entry.held.size() > maxOutputs) {
                upTo = e.getKey();
                break;
            }
            added += entry.held.size();
            if (sink != null) {
                sink.addAll(entry.held);
            }
        }
        if (upTo > committed) {
            return upTo;
        }
        // nothing new: the same offset again once its last commit is CommitRefresh.EVERY old, so that the broker
        // keeps it (see CommitRefresh)
        // (and only with nothing in flight: never a commit that could pass a record without its outcome)
        return committed >= 0 && entries.isEmpty() && refreshDue() ? committed : -1;
    }

    /** Whether the last commit (or, with none, the assignment or the last look for one) is {@link CommitRefresh#EVERY} old. */
    boolean refreshDue() {
        return clock.millis() - committedAt >= CommitRefresh.EVERY.toMillis();
    }

    /**
     * The group's committed offset as the broker gave it ({@link CommitRefresh}), or -1 when it has
     * none or the look failed: kept as committed where this bookkeeping knows of no commit of its own,
     * to be committed again by the round that follows; with none, the next look is an
     * {@link CommitRefresh#EVERY} away.
     */
    void knownCommitted(long offset) {
        if (committed < 0 && offset >= 0) {
            committed = offset;
        } else if (committed < 0) {
            committedAt = clock.millis();
        }
    }

    /** Whether {@code o} belongs to the first record with held outputs, and every record before it is done. */
    boolean isHead(Output o) {
        for (Entry e : entries.values()) {
            if (!e.done) {
                return false;
            }
            if (!e.held.isEmpty()) {
                return containsSame(e.held, o);
            }
        }
        return false;
    }

    /** Exactly-once: a held output is to be sent as {@code replacement} instead (same record, same place). */
    boolean replace(Output held, Output replacement) {
        for (Entry e : entries.values()) {
            for (int i = 0; i < e.held.size(); i++) {
                if (e.held.get(i) == held) {
                    List<Output> copy = new java.util.ArrayList<>(e.held);
                    copy.set(i, replacement);
                    e.held = List.copyOf(copy);
                    return true;
                }
            }
        }
        return false;
    }

    private static boolean containsSame(List<Output> outputs, Output o) {
        for (Output x : outputs) {
            if (x == o) {
                return true;
            }
        }
        return false;
    }

    /** A commit naming {@code offset} succeeded: forget every record before it. */
    void committed(long offset) {
        committed = Math.max(committed, offset);
        committedAt = clock.millis();
        Map<Long, Entry> before = entries.headMap(offset, false);
        for (Entry e : before.values()) {
            if (e.skipped) {
                skipped--;
            }
            if (e.done) {
                done--;
            }
        }
        before.clear();
    }

    long lastCommitted() {
        return committed;
    }

    /** The offset of the oldest record not yet committed, or -1 when there is none. */
    long oldestUncommitted() {
        return entries.isEmpty() ? -1 : entries.firstKey();
    }

    /** When the oldest record not yet committed was taken (clock millis), or -1 when there is none. */
    long oldestUncommittedSince() {
        return entries.isEmpty() ? -1 : entries.firstEntry().getValue().trackedAt;
    }
}
