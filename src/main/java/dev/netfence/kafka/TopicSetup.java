package dev.netfence.kafka;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes sure the topics netfence reads and writes exist before it uses them, creating only the
 * missing ones with the broker's default partition count and replication (the policies topic
 * compacted, as docs/contracts.md requires). Without this, a consumer that subscribes before its topic
 * exists waits for a metadata refresh (minutes) and a policy written to an auto-created topic
 * would never be compacted. Existing topics are never altered. A broker that refuses creation
 * (for example no CREATE permission) is logged and left to the operator: the topics may exist
 * under an ACL that hides them.
 */
public final class TopicSetup {
    private static final Logger LOG = LoggerFactory.getLogger(TopicSetup.class);
    private static final long TIMEOUT_SECONDS = 30;

    private final Map<String, Object> adminConfig;

    /** @param kafka client settings (bootstrap.servers, TLS/SASL); non-admin keys are dropped */
    public TopicSetup(Map<String, Object> kafka) {
        Map<String, Object> config = new LinkedHashMap<>(kafka);
        config.keySet().removeIf(k -> !AdminClientConfig.configNames().contains(k));
        this.adminConfig = Map.copyOf(config);
    }

    /**
     * Creates whichever of {@code plain} (delete-retention) and {@code compacted} topics is
     * missing, and returns the names it created.
     */
    public List<String> ensure(List<String> plain, List<String> compacted) {
        List<NewTopic> wanted = new ArrayList<>();
        plain.forEach(t -> wanted.add(new NewTopic(t, Optional.empty(), Optional.empty())));
        compacted.forEach(t -> wanted.add(new NewTopic(t, Optional.empty(), Optional.empty())
                .configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT))));
        Admin admin = Admin.create(adminConfig);
        try {
            Set<String> existing = admin.listTopics().names().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            List<NewTopic> missing = wanted.stream().filter(t -> !existing.contains(t.name())).toList();
            if (missing.isEmpty()) {
                return List.of();
            }
            List<String> created = new ArrayList<>();
            admin.createTopics(missing).values().forEach((name, future) -> {
                try {
                    future.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
                    created.add(name);
                    LOG.info("created missing topic {}", name);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        LOG.warn("could not create topic {}: {}", name, e.getCause().toString());
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (TimeoutException e) {
                    LOG.warn("timed out creating topic {}", name);
                }
            });
            return List.copyOf(created);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return List.of();
        } catch (ExecutionException | TimeoutException e) {
            LOG.warn("could not list topics to create missing ones: {}", e.toString());
            return List.of();
        } finally {
            // bounded: close() waits for the calls still pending, up to their own 60 s timeout, while the
            // broker cannot be reached (the start then waited a minute more here before saying anything)
            admin.close(Duration.ofSeconds(2));
        }
    }
}
