package dev.netfence.kafka;

import java.time.Clock;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.TopicPartition;

/**
 * The partitions of the events topic this instance holds right now, each with its
 * {@link PartitionOffsets}: added on assignment, removed on revoke/loss/re-assignment (its lag
 * gauge with it), emptied when the clients are recreated. Poll thread only, except
 * {@link #assignment()} and {@link #assignedOnce()}, which are volatile snapshots for readiness.
 */
final class PartitionBook {
    private final Map<TopicPartition, PartitionOffsets> partitions = new HashMap<>();
    private final Clock clock;
    private final PartitionMonitor monitor;
    private volatile Set<TopicPartition> snapshot = Set.of();
    private volatile boolean assignedOnce;

    PartitionBook(Clock clock, PartitionMonitor monitor) {
        this.clock = clock;
        this.monitor = monitor;
    }

    /** The bookkeeping of {@code tp}, or null when it is not ours. */
    PartitionOffsets get(TopicPartition tp) {
        return partitions.get(tp);
    }

    boolean holds(TopicPartition tp) {
        return partitions.containsKey(tp);
    }

    /** A copy of every held partition's bookkeeping. */
    List<PartitionOffsets> all() {
        return List.copyOf(partitions.values());
    }

    /** The held partitions among {@code tps}. */
    List<PartitionOffsets> of(Collection<TopicPartition> tps) {
        return tps.stream().map(partitions::get).filter(p -> p != null).toList();
    }

    void add(Collection<TopicPartition> tps) {
        for (TopicPartition tp : tps) {
            PartitionOffsets before = partitions.put(tp, new PartitionOffsets(tp, clock));
            if (before != null) {
                before.release();
            }
        }
        snapshot = Set.copyOf(partitions.keySet());
        assignedOnce = true;
    }

    void remove(Collection<TopicPartition> tps) {
        for (TopicPartition tp : tps) {
            PartitionOffsets gone = partitions.remove(tp);
            if (gone != null) {
                gone.release();
            }
            monitor.forget(tp);
        }
        snapshot = Set.copyOf(partitions.keySet());
    }

    void clear() {
        remove(List.copyOf(partitions.keySet()));
    }

    Set<TopicPartition> assignment() {
        return snapshot;
    }

    boolean assignedOnce() {
        return assignedOnce;
    }

    /** Records read and not yet committed, over all held partitions. */
    int outstanding() {
        int n = 0;
        for (PartitionOffsets po : partitions.values()) {
            n += po.uncommitted();
        }
        return n;
    }

    /** Records done and not yet committed, over all held partitions ({@link PartitionOffsets#done}). */
    int done() {
        int n = 0;
        for (PartitionOffsets po : partitions.values()) {
            n += po.done();
        }
        return n;
    }

    /** Records that count against {@code --max-in-flight}, over all held partitions ({@link PartitionOffsets#inFlight}). */
    int inFlight() {
        int n = 0;
        for (PartitionOffsets po : partitions.values()) {
            n += po.inFlight();
        }
        return n;
    }

    /** Records not yet done (running, queued or parked) in {@code ps}. */
    static int working(Collection<PartitionOffsets> ps) {
        int n = 0;
        for (PartitionOffsets po : ps) {
            n += po.working();
        }
        return n;
    }

    /** Records whose outputs are out and whose live-set journal write is still awaited. */
    static int awaited(Collection<PartitionOffsets> ps) {
        int n = 0;
        for (PartitionOffsets po : ps) {
            n += po.awaited();
        }
        return n;
    }
}
