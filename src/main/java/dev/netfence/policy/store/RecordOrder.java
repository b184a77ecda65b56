package dev.netfence.policy.store;

/**
 * Which of two records of one task on the policies topic is the newer, the one rule every reader
 * of the topic follows (the store as it reads, its rebuild, {@code netfence policy get} and
 * {@code list}): on one partition the later offset, whatever the timestamps; on two (a key that
 * moved when partitions were added leaves its old records behind on its former partition) the
 * later timestamp, and on equal ones the higher partition. Stateless.
 */
public final class RecordOrder {
    private RecordOrder() {}

    /**
     * Whether a record at {@code partition} with {@code timestamp}, read after the one in force
     * (at {@code inForcePartition}, {@code inForceTimestamp}), takes its place.
     */
    public static boolean replaces(int inForcePartition, long inForceTimestamp, int partition, long timestamp) {
        return partition == inForcePartition || timestamp > inForceTimestamp
                || timestamp == inForceTimestamp && partition > inForcePartition;
    }
}
