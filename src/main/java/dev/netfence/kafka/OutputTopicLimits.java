package dev.netfence.kafka;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The smallest {@code max.message.bytes} among the topics netfence writes, read when the producer is
 * created, so its {@code batch.size} can be capped below it. Why: when a batch of several small
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

    static OptionalInt smallestMaxMessageBytes(Map<String, Object> adminSettings, Collection<String> topics) {
        List<ConfigResource> resources = new ArrayList<>();
        topics.forEach(t -> resources.add(new ConfigResource(ConfigResource.Type.TOPIC, t)));
        try (Admin admin = Admin.create(adminSettings)) {
            Map<ConfigResource, Config> configs = admin.describeConfigs(resources).all().get(5, TimeUnit.SECONDS);
            int min = Integer.MAX_VALUE;
            for (Config c : configs.values()) {
                ConfigEntry e = c.get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG);
                if (e != null && e.value() != null) {
                    min = Math.min(min, Integer.parseInt(e.value()));
                }
            }
            return min == Integer.MAX_VALUE ? OptionalInt.empty() : OptionalInt.of(min);
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            LOG.debug("cannot read max.message.bytes of {}: {}", topics, e.toString());
            return OptionalInt.empty();
        }
    }
}
