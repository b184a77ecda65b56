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

        List<String> created = setup.ensure(List.of(events, events + ".dlq"), List.of(policies));

        assertThat(created).containsExactlyInAnyOrder(events, events + ".dlq", policies);
        assertThat(cleanupPolicy(policies)).isEqualTo(TopicConfig.CLEANUP_POLICY_COMPACT);
        assertThat(cleanupPolicy(events)).isEqualTo(TopicConfig.CLEANUP_POLICY_DELETE);
    }

    @Test
    void existingTopicsAreLeftAlone() {
        String events = TestKafka.uniqueTopic("setup-existing");
        TestKafka.createTopics(3, events);
        TopicSetup setup = new TopicSetup(Map.of("bootstrap.servers", TestKafka.bootstrapServers()));

        assertThat(setup.ensure(List.of(events), List.of())).isEmpty();
        try (Admin admin = TestKafka.admin()) {
            assertThat(admin.describeTopics(List.of(events)).allTopicNames().get(30, TimeUnit.SECONDS)
                    .get(events).partitions()).hasSize(3);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static String cleanupPolicy(String topic) throws Exception {
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        try (Admin admin = TestKafka.admin()) {
            Config config = admin.describeConfigs(List.of(resource)).all().get(30, TimeUnit.SECONDS).get(resource);
            return config.get(TopicConfig.CLEANUP_POLICY_CONFIG).value();
        }
    }
}
