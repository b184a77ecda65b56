package dev.netfence.kafka;

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

    private static final class Entry {
        boolean done;
        List<Output> held = List.of();
    }

    PartitionOffsets(TopicPartition partition) {
        this.partition = partition;
    }

    TopicPartition partition() {
        return partition;
    }

    /** A record was taken from the partition and is now being worked on. */
    void track(long offset) {
        entries.put(offset, new Entry());
        next = Math.max(next, offset + 1);
    }

    /** The record's outputs are acknowledged (or it needed none). */
    void done(long offset) {
        Entry e = entries.get(offset);
        if (e != null) {
            e.done = true;
        }
    }

    /** Exactly-once: the record is done and its outputs wait for the next transaction. */
    void hold(long offset, List<Output> outputs) {
        Entry e = entries.get(offset);
        if (e != null) {
            e.done = true;
            e.held = List.copyOf(outputs);
        }
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

    /** Records not yet committed (working or done). */
    int uncommitted() {
        return entries.size();
    }

    /**
     * The offset a commit may name now (first record not done, else one past the last record
     * seen), or -1 when that is not past the last commit. Held outputs of the done prefix are
     * added to {@code sink}, in offset order; the prefix is forgotten only by {@link #committed}.
     */
    long committable(List<Output> sink) {
        long upTo = next;
        for (Map.Entry<Long, Entry> e : entries.entrySet()) {
            if (!e.getValue().done) {
                upTo = e.getKey();
                break;
            }
            if (sink != null) {
                sink.addAll(e.getValue().held);
            }
        }
        return upTo > committed ? upTo : -1;
    }

    /** A commit naming {@code offset} succeeded: forget every record before it. */
    void committed(long offset) {
        committed = Math.max(committed, offset);
        entries.headMap(offset, false).clear();
    }

    long lastCommitted() {
        return committed;
    }
}
