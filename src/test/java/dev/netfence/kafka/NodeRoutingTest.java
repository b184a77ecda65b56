package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.junit.jupiter.api.Test;

class NodeRoutingTest {
    @Test
    void thePartitionOfANodeIsTheOneKafkasDefaultPartitionerPicksForItsKey() {
        for (int partitions = 1; partitions <= 64; partitions *= 2) {
            for (int n = 0; n < 200; n++) {
                String node = "worker-" + n;
                assertThat(NodeRouting.partitionFor(node, partitions)).isEqualTo(
                        BuiltInPartitioner.partitionForKey(node.getBytes(StandardCharsets.UTF_8), partitions));
            }
        }
    }

    @Test
    void aNodeAcceptsOnlyItsOwnEventsAndTheStarAcceptsAll() {
        NodeRouting n1 = new NodeRouting("n1");
        assertThat(n1.accepts("n1")).isTrue();
        assertThat(n1.accepts("n2")).isFalse();
        assertThat(n1.accepts(null)).isFalse();
        assertThat(new NodeRouting("*").accepts("anything")).isTrue();
        assertThat(n1.groupId()).isEqualTo("netfence-n1");
    }

    @Test
    void aKeyNamesThisNodeAnotherNodeOrNoneAndTheStarOwnsEveryKey() {
        NodeRouting n1 = new NodeRouting("n1");
        assertThat(n1.keyOwner("n1".getBytes(StandardCharsets.UTF_8))).isEqualTo(NodeRouting.KeyOwner.THIS_NODE);
        assertThat(n1.keyOwner("n2".getBytes(StandardCharsets.UTF_8))).isEqualTo(NodeRouting.KeyOwner.OTHER_NODE);
        assertThat(n1.keyOwner("n1 ".getBytes(StandardCharsets.UTF_8))).isEqualTo(NodeRouting.KeyOwner.OTHER_NODE);
        assertThat(n1.keyOwner(null)).isEqualTo(NodeRouting.KeyOwner.NONE);
        assertThat(n1.keyOwner(new byte[0])).isEqualTo(NodeRouting.KeyOwner.NONE);
        assertThat(new NodeRouting("*").keyOwner("n2".getBytes(StandardCharsets.UTF_8)))
                .isEqualTo(NodeRouting.KeyOwner.THIS_NODE);
    }

    @Test
    void zeroPartitionsIsRefused() {
        assertThatThrownBy(() -> NodeRouting.partitionFor("n", 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("partitions must be at least 1, was 0");
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "{0} -> {1}")
    @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', quoteCharacter = '\'', value = {
        "{\"nodeId\":\"n1\"}|true",
        "{\"nodeId\" : \"n1\" }|true",
        "{\"a\":1,  \"nodeId\":   \"n1\"}|true",
        "{\"nodeId\":\"n2\",\"x\":{\"nodeId\":\"n1\"}}|true",
        "{\"nodeId\":\"n10\"}|false",
        "{\"nodeId\":\"xn1\"}|false",
        "{\"nodeId\":\"n2\",\"runtime\":\"n1\"}|false",
        "\"n1\"|false",
        "{\"nodeId\":\"n1|false",
        "{\"nodeId\"\"n1\"}|false",
        "{\"nodeId\":|false",
        "\"\"\"\"\"\"|false",
        "{\"nodeId\":\"\\u006e1\"}|false",
    })
    void aValueMayNameThisNodeOnlyWithItsWholeIdAsAJsonString(String value, boolean names) {
        assertThat(new NodeRouting("n1").mayName(value.getBytes(java.nio.charset.StandardCharsets.UTF_8)))
                .isEqualTo(names);
    }

    @Test
    void noValueAndOneOverTheDecodersBoundNameNoNode() {
        assertThat(new NodeRouting("n1").mayName(null)).isFalse();
        assertThat(new NodeRouting("n1").mayName(new byte[0])).isFalse();
        assertThat(new NodeRouting("n1").mayName("{\"a\":1,\n\t\"nodeId\"\r\n:\n \"n1\"}"
                .getBytes(java.nio.charset.StandardCharsets.UTF_8))).as("JSON whitespace around the colon").isTrue();
        byte[] big = new byte[dev.netfence.event.EventDecoder.MAX_VALUE_BYTES + 1];
        System.arraycopy("\"n1\"".getBytes(java.nio.charset.StandardCharsets.UTF_8), 0, big, 0, 4);
        assertThat(new NodeRouting("n1").mayName(big)).isFalse();
    }
}
