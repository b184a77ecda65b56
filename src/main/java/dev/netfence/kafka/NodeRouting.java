package dev.netfence.kafka;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;
import org.apache.kafka.common.utils.Utils;

/**
 * Which events this instance handles: those whose nodeId equals its own ({@code --node-id}), or
 * every event when the node id is {@code *}. Also the partition a node's events land in when
 * schedulers key events by nodeId, computed exactly as Kafka's default partitioner does for a
 * keyed record ({@code toPositive(murmur2(utf8(nodeId))) % partitions}), which is what
 * {@code --assignment node-partition} relies on.
 */
public final class NodeRouting {
    public static final String EVERY_NODE = "*";
    /** What {@code --node-id} accepts besides {@code *}. */
    private static final java.util.regex.Pattern NODE_ID = java.util.regex.Pattern.compile("[A-Za-z0-9._-]{1,253}");

    /** What a record's key says about its owner (docs/contracts.md: the key is the event's nodeId). */
    public enum KeyOwner {
        /** The key names this node (or this instance handles every node). */
        THIS_NODE,
        /** The key names another node. */
        OTHER_NODE,
        /** No key, or an empty one: the value decides. */
        NONE
    }

    private final String nodeId;
    private final byte[] nodeIdBytes;

    public NodeRouting(String nodeId) {
        this.nodeId = Objects.requireNonNull(nodeId, "nodeId");
        this.nodeIdBytes = nodeId.getBytes(StandardCharsets.UTF_8);
    }

    public String nodeId() {
        return nodeId;
    }

    public boolean everyNode() {
        return EVERY_NODE.equals(nodeId);
    }

    /** Whether an event addressed to {@code eventNodeId} is ours. */
    public boolean accepts(String eventNodeId) {
        return everyNode() || nodeId.equals(eventNodeId);
    }

    /**
     * Who a record belongs to by its key alone, without decoding anything: the key's bytes are
     * compared with this node's UTF-8 id, so a record keyed for another node costs no parsing.
     */
    public KeyOwner keyOwner(byte[] key) {
        if (key == null || key.length == 0) {
            return KeyOwner.NONE;
        }
        return everyNode() || Arrays.equals(key, nodeIdBytes) ? KeyOwner.THIS_NODE : KeyOwner.OTHER_NODE;
    }

    /**
     * Whether {@code value} may name this node: it holds a {@code "nodeId"} member whose value is
     * this node's id as a JSON string ({@code "nodeId" : "<id>"}, whitespace allowed). A byte
     * search, no parsing, and only that member: an id that is also some other field's common value
     * (a runtime's name) does not make every other node's record parsed. A value that writes the
     * member or the id with JSON escapes is missed (its key's owner judges it).
     */
    public boolean mayName(byte[] value) {
        if (value == null || value.length > dev.netfence.event.EventDecoder.MAX_VALUE_BYTES || nodeIdBytes.length == 0) {
            return false; // one over the bound is dead-lettered as malformed by whoever decodes it
        }
        for (int at = indexOf(value, NODE_ID_MEMBER, 0); at >= 0; at = indexOf(value, NODE_ID_MEMBER, at + 1)) {
            int i = skipSpace(value, at + NODE_ID_MEMBER.length);
            if (i < value.length && value[i] == ':') {
                i = skipSpace(value, i + 1);
                int n = nodeIdBytes.length;
                if (i + n + 1 < value.length && value[i] == '"' && value[i + n + 1] == '"'
                        && Arrays.equals(value, i + 1, i + 1 + n, nodeIdBytes, 0, n)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static final byte[] NODE_ID_MEMBER = "\"nodeId\"".getBytes(StandardCharsets.UTF_8);

    private static int skipSpace(byte[] b, int i) {
        while (i < b.length && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r')) {
            i++;
        }
        return i;
    }

    private static int indexOf(byte[] b, byte[] what, int from) {
        for (int i = from; i + what.length <= b.length; i++) {
            if (b[i] == what[0] && Arrays.equals(b, i, i + what.length, what, 0, what.length)) {
                return i;
            }
        }
        return -1;
    }

    /**
     * Whether a node named {@code eventNodeId} would take a record with {@code value} keyed for
     * another node ({@code --assignment group}): the id is one a node can have ({@code --node-id}'s
     * pattern) and the value holds it as {@link #mayName} looks for it (not written with JSON
     * escapes). The key's owner leaves such a record to that node and dead-letters any other.
     */
    public static boolean takes(String eventNodeId, byte[] value) {
        return eventNodeId != null && NODE_ID.matcher(eventNodeId).matches()
                && new NodeRouting(eventNodeId).mayName(value);
    }

    /** The partition Kafka's default partitioner puts a record keyed {@code nodeId} in. */
    public static int partitionFor(String nodeId, int partitions) {
        if (partitions < 1) {
            throw new IllegalArgumentException("partitions must be at least 1, was " + partitions);
        }
        return Utils.toPositive(Utils.murmur2(nodeId.getBytes(StandardCharsets.UTF_8))) % partitions;
    }

    /** node-partition mode: the partition this node's key maps to, or every partition for {@code *}. */
    public java.util.List<org.apache.kafka.common.TopicPartition> partitionsToRead(String topic, int partitions) {
        if (everyNode()) {
            return java.util.stream.IntStream.range(0, partitions)
                    .mapToObj(i -> new org.apache.kafka.common.TopicPartition(topic, i)).toList();
        }
        return java.util.List.of(new org.apache.kafka.common.TopicPartition(topic, partitionFor(nodeId, partitions)));
    }

    /** The consumer group of this node: {@code netfence-<nodeId>}. */
    public String groupId() {
        return "netfence-" + nodeId;
    }
}
