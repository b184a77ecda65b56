package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.kafka.testkit.TestKafka;
import dev.netfence.netns.NamespaceId;
import dev.netfence.testkit.KafkaLane;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

@KafkaLane
class EnforcementsTopicTest {

    private static LiveContainer entry(String id, String node, String digest) {
        return new LiveContainer(id, "task-1", node, null, 4242, new NamespaceId(4, 4026530000L), null, digest, null,
                false, "nft", Map.of(), Instant.parse("2026-12-04T04:00:00Z"));
    }

    @Test
    void whatIsWrittenBeforeCloseIsWhatARestartReadsBackForItsNode() throws Exception {
        String topic = TestKafka.uniqueTopic("enforcements");
        TestKafka.createCompactedTopic(topic, 3);
        Map<String, Object> kafka = Map.of("bootstrap.servers", TestKafka.bootstrapServers());
        EnforcementsTopic journal = new EnforcementsTopic(kafka, topic);
        journal.record(entry("c1", "node-1", "sha256:a"));
        journal.record(entry("c2", "node-1", "sha256:a"));
        journal.record(entry("c1", "node-1", "sha256:b"));
        journal.record(entry("c3", "node-2", "sha256:a"));
        journal.remove("c2");

        journal.close();

        assertThat(journal.unwritten()).isEmpty();
        List<LiveContainer> read = EnforcementsTopic.load(kafka, topic, "node-1"::equals, Duration.ofSeconds(30));
        assertThat(read).extracting(LiveContainer::containerId, LiveContainer::policyDigest)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("c1", "sha256:b"));
    }
}
