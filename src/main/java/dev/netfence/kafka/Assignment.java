package dev.netfence.kafka;

import java.util.Locale;

/**
 * How an instance gets its partitions of the events topic ({@code --assignment}). GROUP: the
 * consumer group {@code netfence-<nodeId>} shares every partition among the node's instances,
 * which skip events of other nodes. NODE_PARTITION: the instance is assigned only the partition
 * that Kafka's default partitioner maps the key {@code <nodeId>} to, so schedulers MUST key each
 * event by its nodeId with the default partitioner (every node then reads 1/P of the traffic).
 */
public enum Assignment {
    GROUP,
    NODE_PARTITION;

    /** The flag form: {@code group} or {@code node-partition}. */
    public String wire() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    public static Assignment fromWire(String s) {
        for (Assignment a : values()) {
            if (a.wire().equals(s)) {
                return a;
            }
        }
        throw new IllegalArgumentException("assignment must be group or node-partition, was: " + s);
    }
}
