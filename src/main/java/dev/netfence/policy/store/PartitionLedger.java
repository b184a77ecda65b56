package dev.netfence.policy.store;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.common.TopicPartition;

/**
 * What {@link TopicPolicyStore} read from each partition of the policy topic, so that a partition
 * read again from an earlier offset ends holding exactly what the partition holds now. The consumer
 * goes back when the topic was deleted and created again or truncated (its position out of range,
 * reset to the beginning): the records read again are staged, not applied, and once the partition's
 * end offset at that moment is reached the staged policies replace the partition's old ones in one
 * step and every task the partition no longer names is forgotten (without this, a task whose policy
 * went with the old topic kept it until netfence restarted). A partition that disappeared (the topic
 * created again with fewer partitions) forgets its tasks at once. Confined to the store's thread.
 */
final class PartitionLedger {
    /** A partition being read again: its end offset when that began, and what was read since. */
    private record Rebuild(long end, Map<String, Optional<StoredPolicy>> staged) {}

    private final PolicyTable table;
    private final Map<TopicPartition, Long> next = new HashMap<>();
    private final Map<String, TopicPartition> origin = new HashMap<>();
    private final Map<TopicPartition, Rebuild> rebuilding = new HashMap<>();

    PartitionLedger(PolicyTable table) {
        this.table = Objects.requireNonNull(table, "table");
    }

    /** Whether {@code offset} (a record's, or the consumer's position) is behind what {@code tp} was read to. */
    boolean wentBack(TopicPartition tp, long offset) {
        Long n = next.get(tp);
        return n != null && offset < n && !rebuilding.containsKey(tp);
    }

    /** {@code tp} is read again from its beginning; what it holds up to {@code end} is staged. */
    void rebuild(TopicPartition tp, long end) {
        rebuilding.put(tp, new Rebuild(end, new LinkedHashMap<>()));
        next.remove(tp);
    }

    /** Whether some partition is being read again. */
    boolean rebuilding() {
        return !rebuilding.isEmpty();
    }

    /** A record of {@code taskId} at {@code offset} of {@code tp}: {@code policy} empty for a tombstone. */
    void record(TopicPartition tp, long offset, String taskId, Optional<StoredPolicy> policy) {
        Rebuild r = rebuilding.get(tp);
        if (r != null && offset >= r.end()) {
            finish(tp);
            r = null;
        }
        next.put(tp, offset + 1);
        if (r != null) {
            r.staged().put(taskId, policy);
            return;
        }
        if (policy.isPresent()) {
            origin.put(taskId, tp);
            table.put(taskId, policy.get());
        } else {
            origin.remove(taskId);
            table.remove(taskId);
        }
    }

    /** The consumer's position in {@code tp} is {@code position}: a rebuild that reached its end finishes. */
    void positioned(TopicPartition tp, long position) {
        Rebuild r = rebuilding.get(tp);
        if (r != null && position >= r.end()) {
            finish(tp);
        }
        if (!next.containsKey(tp) || next.get(tp) < position) {
            next.put(tp, position);
        }
    }

    /** Partitions the topic no longer has: every task they named is forgotten. */
    void gone(Set<TopicPartition> partitions) {
        for (TopicPartition tp : partitions) {
            rebuilding.remove(tp);
            next.remove(tp);
            forgetAllBut(tp, Set.of());
        }
    }

    private void finish(TopicPartition tp) {
        Rebuild r = rebuilding.remove(tp);
        Set<String> named = new HashSet<>(r.staged().keySet());
        forgetAllBut(tp, named);
        r.staged().forEach((taskId, policy) -> {
            TopicPartition from = origin.get(taskId);
            if (from != null && !from.equals(tp)) {
                return; // written on another partition since: that one is the task's
            }
            if (policy.isEmpty()) {
                origin.remove(taskId);
                table.remove(taskId);
            } else if (!policy.equals(table.get(taskId))) {
                origin.put(taskId, tp);
                table.put(taskId, policy.get());
            } else {
                origin.put(taskId, tp);
            }
        });
    }

    private void forgetAllBut(TopicPartition tp, Set<String> keep) {
        List<String> forget = new ArrayList<>();
        origin.forEach((taskId, from) -> {
            if (from.equals(tp) && !keep.contains(taskId)) {
                forget.add(taskId);
            }
        });
        for (String taskId : forget) {
            origin.remove(taskId);
            table.remove(taskId);
        }
    }
}
