package dev.netfence.kafka;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The smallest {@code max.message.bytes} among the topics netfence writes, and the topic that has it,
 * read each time the producer is created (also when the pipeline recreates its clients after the
 * {@link ProducerWatchdog} found its producer wedged), so its {@code batch.size} can be capped below it. Why: when a batch of several small
 * records is refused as too large, the Java producer (4.1) splits it into batches of
 * {@code batch.size} again, which hold the same records, and retries that forever (KAFKA-8350)
 * instead of failing the record with {@code RecordTooLargeException}; netfence would never learn that
 * the outcomes topic refuses its outcomes. With {@code batch.size} at most the topic's limit, a refused
 * batch holds one record and the refusal reaches the callback. Best effort: a broker that does not
 * answer within a few seconds (or denies DescribeConfigs) leaves {@code batch.size} alone.
 */
final class OutputTopicLimits {
    private static final Logger LOG = LoggerFactory.getLogger(OutputTopicLimits.class);

    private OutputTopicLimits() {}

    /** {@code topic} takes records (batches) of at most {@code bytes}. */
    record Limit(String topic, int bytes) {}

    /** The smallest limit of {@code topics}, empty when the broker did not say. */
    static Optional<Limit> smallest(Map<String, Object> adminSettings, Collection<String> topics) {
        List<Limit> all = of(adminSettings, topics);
        return all.isEmpty() ? Optional.empty() : Optional.of(all.get(0));
    }

    /** The limit of each of {@code topics} the broker named, smallest first (empty when it did not answer). */
    static List<Limit> of(Map<String, Object> adminSettings, Collection<String> topics) {
        List<ConfigResource> resources = new ArrayList<>();
        topics.forEach(t -> resources.add(new ConfigResource(ConfigResource.Type.TOPIC, t)));
        try (Admin admin = Admin.create(adminSettings)) {
            Map<ConfigResource, Config> configs = admin.describeConfigs(resources).all().get(5, TimeUnit.SECONDS);
            List<Limit> limits = new ArrayList<>();
            for (Map.Entry<ConfigResource, Config> c : configs.entrySet()) {
                ConfigEntry e = c.getValue().get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG);
                if (e != null && e.value() != null) {
                    limits.add(new Limit(c.getKey().name(), Integer.parseInt(e.value())));
                }
            }
            limits.sort(java.util.Comparator.comparingInt(Limit::bytes));
            return limits;
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            LOG.debug("cannot read max.message.bytes of {}: {}", topics, e.toString());
            return List.of();
        }
    }
}
