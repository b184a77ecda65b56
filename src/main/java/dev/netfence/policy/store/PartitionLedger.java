package dev.netfence.policy.store;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.common.TopicPartition;

/**
 * How far {@link TopicPolicyStore} read each partition of the policy topic, and the rebuild of
 * its policies when the topic changed under it. The consumer goes back in a partition when the
 * topic was deleted and created again or truncated (its position out of range, reset to the
 * beginning or to where the log diverged), and a partition disappears when the topic is created
 * again with fewer: then the store reads the whole topic again from the beginning of every
 * partition, and the records are staged, not applied, until every partition is read to its end
 * offset as of that moment; the staged policies then replace the table in one step (tasks the
 * topic no longer names are forgotten, policies that did not change tell nobody). The whole topic,
 * not the partition alone: a task whose key moved to another partition (fewer partitions) must
 * not be forgotten by its old one. Where the rebuild reads one task twice in one partition, the
 * later record wins, as in any read of it; on two partitions (left by an earlier partition count),
 * the one with the later timestamp. The first read at start decides the same way: it keeps each
 * task's last record on each partition read so far, and the one in force is the newest of those
 * ({@link RecordOrder}: the later timestamp, a tombstone included), whatever order the partitions
 * are polled in, so a policy left on a task's old partition when partitions were added does not
 * take the place of the newer policy or deletion, nor does a record later on that old partition (a
 * tombstone after an old policy stamped by a clock ahead) decide against the newer one on the new
 * partition (before the sixty-fourth session the first read went record by record, and which
 * record won depended on the poll order). Once that read is through ({@link #readThrough}), every
 * record is new and replaces the one in force. Confined to the store's thread.
 */
final class PartitionLedger {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(PartitionLedger.class);
    /** A staged record: the policy (empty: a tombstone), its partition and its timestamp. */
    private record Staged(Optional<StoredPolicy> policy, TopicPartition partition, long timestamp) {}

    /** A rebuild under way: each partition's end offset when it began, what was read since (per task and partition). */
    private record Rebuild(Map<TopicPartition, Long> ends, Map<String, Map<TopicPartition, Staged>> staged,
            Set<TopicPartition> reached) {}

    private final PolicyTable table;
    private final Map<TopicPartition, Long> next = new HashMap<>();
    /**
     * While the store reads what the topic held at its start: each task's last record on each
     * partition read so far, by partition. Null once it read that (every record after is new: no
     * leftover can follow).
     */
    private Map<String, Map<Integer, Staged>> firstRead = new HashMap<>();
    /** Records the first read ignored (a moved key's leftovers). */
    private long ignored;
    private Rebuild rebuild;

    PartitionLedger(PolicyTable table) {
        this.table = Objects.requireNonNull(table, "table");
    }

    /** Whether {@code offset} (a record's, or the consumer's position) is behind what {@code tp} was read to. */
    boolean wentBack(TopicPartition tp, long offset) {
        Long n = next.get(tp);
        return n != null && offset < n;
    }

    /** The whole topic is read again from the beginning; its records are staged until each partition reaches {@code ends}. */
    void rebuild(Map<TopicPartition, Long> ends) {
        rebuild = new Rebuild(Map.copyOf(ends), new HashMap<>(), new HashSet<>());
        next.clear();
    }

    /** Whether a rebuild is under way and one of {@code ends} fell below the end it reads to. */
    boolean endsFellBelow(Map<TopicPartition, Long> ends) {
        return rebuild != null && ends.entrySet().stream().anyMatch(e -> rebuild.ends().containsKey(e.getKey())
                && e.getValue() < rebuild.ends().get(e.getKey()));
    }

    /** Whether a rebuild is under way. */
    boolean rebuilding() {
        return rebuild != null;
    }

    /** A record of {@code taskId} at {@code offset} of {@code tp}, written at {@code timestamp}: {@code policy} empty for a tombstone. */
    void record(TopicPartition tp, long offset, long timestamp, String taskId, Optional<StoredPolicy> policy) {
        next.put(tp, offset + 1);
        if (rebuild != null) {
            // the later record of its partition (offset order), whatever its timestamp
            rebuild.staged().computeIfAbsent(taskId, t -> new HashMap<>()).put(tp, new Staged(policy, tp, timestamp));
            return;
        }
        if (firstRead == null) {
            apply(taskId, policy);
            return;
        }
        Map<Integer, Staged> last = firstRead.computeIfAbsent(taskId, t -> new HashMap<>());
        Staged before = last.isEmpty() ? null : newest(last.values());
        Staged read = new Staged(policy, tp, timestamp);
        last.put(tp.partition(), read);
        Staged now = newest(last.values());
        if (now != read && ignored++ == 0) { // one line per read: every start reads a moved key's leftovers again
            LOG.info("the record of task {} at {}@{} (timestamp {}) is older than its record on partition {}"
                    + " (timestamp {}), the one in force; a key that moved when partitions were added leaves its"
                    + " old records behind (how many are counted when the read is through)", taskId, tp, offset,
                    timestamp, now.partition().partition(), now.timestamp());
        }
        if (now != before) {
            apply(taskId, now.policy());
        }
    }

    private void apply(String taskId, Optional<StoredPolicy> policy) {
        if (policy.isPresent()) {
            table.put(taskId, policy.get());
        } else {
            table.remove(taskId);
        }
    }

    /** The newest of one task's last records on different partitions ({@link RecordOrder}). */
    private static Staged newest(java.util.Collection<Staged> lastByPartition) {
        return lastByPartition.stream().reduce((a, b) -> RecordOrder.replaces(a.partition().partition(), a.timestamp(),
                b.partition().partition(), b.timestamp()) ? b : a).orElseThrow();
    }

    /**
     * The store read everything the topic held when it started: records from now on are new, so
     * no task's leftover on a former partition can follow, and where each record came from is
     * forgotten (a later one simply replaces it, as before partitions were ever added).
     */
    void readThrough() {
        if (ignored > 0) {
            LOG.info("{} policy record(s) older than their task's record on another partition were ignored", ignored);
        }
        firstRead = null;
    }

    /** A record at {@code offset} of {@code tp} that names no task (no key): read, nothing to apply. */
    void skipped(TopicPartition tp, long offset) {
        next.put(tp, offset + 1);
    }

    /** The consumer's position in {@code tp} is {@code position}: a rebuild whose partitions all reached their ends finishes. */
    void positioned(TopicPartition tp, long position) {
        Long n = next.get(tp);
        if (n == null || n < position) {
            next.put(tp, position);
        }
        if (rebuild != null && rebuild.ends().containsKey(tp) && position >= rebuild.ends().get(tp)) {
            rebuild.reached().add(tp);
            if (rebuild.reached().containsAll(rebuild.ends().keySet())) {
                finish();
            }
        }
    }

    private void finish() {
        Map<String, Staged> staged = new HashMap<>();
        rebuild.staged().forEach((taskId, byPartition) -> staged.put(taskId, newest(byPartition.values())));
        if (firstRead != null) { // a rebuild during the first read: what it read is what the rest of that read adds to
            firstRead.clear();
            rebuild.staged().forEach((taskId, byPartition) -> {
                Map<Integer, Staged> last = new HashMap<>();
                byPartition.forEach((tp, s) -> last.put(tp.partition(), s));
                firstRead.put(taskId, last);
            });
        }
        rebuild = null;
        for (String taskId : List.copyOf(table.taskIds())) {
            Staged s = staged.get(taskId);
            if (s == null || s.policy().isEmpty()) {
                table.remove(taskId);
            }
        }
        staged.forEach((taskId, s) -> s.policy().ifPresent(p -> table.put(taskId, p)));
    }
}
