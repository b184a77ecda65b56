package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.kafka.testkit.TestKafka;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.Test;

class TopicSetupTest {

    @Test
    void missingTopicsAreCreatedAndThePoliciesTopicIsCompacted() throws Exception {
        String events = TestKafka.uniqueTopic("setup-events");
        String policies = TestKafka.uniqueTopic("setup-policies");
        TopicSetup setup = new TopicSetup(Map.of("bootstrap.servers", TestKafka.bootstrapServers()));

        List<String> created = setup.ensure(List.of(events, events + ".dlq"), List.of(policies)).created();

        assertThat(created).containsExactlyInAnyOrder(events, events + ".dlq", policies);
        assertThat(cleanupPolicy(policies)).isEqualTo(TopicConfig.CLEANUP_POLICY_COMPACT);
        assertThat(cleanupPolicy(events)).isEqualTo(TopicConfig.CLEANUP_POLICY_DELETE);
    }

    @Test
    void aBrokerThatCannotBeReachedLeavesTheSetupUnanswered() {
        try (java.net.ServerSocket closed = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            String nobody = "127.0.0.1:" + closed.getLocalPort();
            closed.close(); // a port nothing listens on
            TopicSetup setup = new TopicSetup(Map.of("bootstrap.servers", nobody, "default.api.timeout.ms", "1500",
                    "request.timeout.ms", "500"));

            assertThat(setup.ensure(List.of("never-made"), List.of())).isEqualTo(new TopicSetup.Result(List.of(),
                    List.of(), false));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void existingTopicsAreLeftAlone() {
        String events = TestKafka.uniqueTopic("setup-existing");
        TestKafka.createTopics(3, events);
        TopicSetup setup = new TopicSetup(Map.of("bootstrap.servers", TestKafka.bootstrapServers()));

        assertThat(setup.ensure(List.of(events), List.of())).isEqualTo(new TopicSetup.Result(List.of(), List.of()));
        try (Admin admin = TestKafka.admin()) {
            assertThat(admin.describeTopics(List.of(events)).allTopicNames().get(30, TimeUnit.SECONDS)
                    .get(events).partitions()).hasSize(3);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void anExistingTopicThatShouldBeCompactedAndDeletesAfterARetentionTimeIsReported() throws Exception {
        String deleting = TestKafka.uniqueTopic("setup-deleting");
        String kept = TestKafka.uniqueTopic("setup-kept-forever");
        String compacted = TestKafka.uniqueTopic("setup-compacted");
        String both = TestKafka.uniqueTopic("setup-compact-delete");
        TestKafka.createTopics(1, deleting);
        TestKafka.createCompactedTopic(compacted, 1);
        try (Admin admin = TestKafka.admin()) {
            admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(kept, 1, (short) 1)
                    .configs(Map.of(TopicConfig.RETENTION_MS_CONFIG, "-1")),
                    new org.apache.kafka.clients.admin.NewTopic(both, 1, (short) 1)
                            .configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, "compact,delete"))))
                    .all().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        TopicSetup setup = new TopicSetup(Map.of("bootstrap.servers", TestKafka.bootstrapServers()));

        TopicSetup.Result result = setup.ensure(List.of(), List.of(deleting, kept, compacted, both));

        assertThat(result.created()).isEmpty();
        assertThat(result.expiring()).hasSize(2);
        assertThat(result.expiring().get(0))
                .startsWith("topic " + deleting + " has cleanup.policy=delete with retention.ms=")
                .endsWith(": its records are deleted past that, so a netfence started later does not know a"
                        + " policy or live-set entry not written again since; set cleanup.policy=compact"
                        + " (kafka-configs.sh --alter --entity-type topics --entity-name " + deleting
                        + " --add-config cleanup.policy=compact)");
        assertThat(result.expiring().get(1)).as("compaction with deletion still deletes")
                .startsWith("topic " + both + " has cleanup.policy=compact,delete with retention.ms=");
        assertThat(cleanupPolicy(deleting)).as("told, not altered").isEqualTo(TopicConfig.CLEANUP_POLICY_DELETE);
    }

    private static String cleanupPolicy(String topic) throws Exception {
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        try (Admin admin = TestKafka.admin()) {
            Config config = admin.describeConfigs(List.of(resource)).all().get(30, TimeUnit.SECONDS).get(resource);
            return config.get(TopicConfig.CLEANUP_POLICY_CONFIG).value();
        }
    }
}
