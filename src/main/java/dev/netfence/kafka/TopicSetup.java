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
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes sure the topics netfence reads and writes exist before it uses them, creating only the
 * missing ones with the broker's default partition count and replication (the policies topic
 * compacted, as docs/contracts.md requires). Without this, a consumer that subscribes before its topic
 * exists waits for a metadata refresh (minutes) and a policy written to an auto-created topic
 * would never be compacted. Existing topics are never altered; one that should be compacted and
 * deletes its records after a retention time instead is reported as an error. A broker that refuses creation
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
     * What {@link #ensure} did: the topics it created, the problems of existing topics that
     * should be compacted and are not ({@link #expiring}), and whether the broker answered the
     * listing and made every missing topic ({@code answered}: false when it could not be reached,
     * or a missing topic could not be created: not permitted, timed out).
     */
    public record Result(List<String> created, List<String> expiring, boolean answered) {
        public Result {
            created = List.copyOf(created);
            expiring = List.copyOf(expiring);
        }

        /** An answered setup. */
        public Result(List<String> created, List<String> expiring) {
            this(created, expiring, true);
        }
    }

    /**
     * Creates whichever of {@code plain} (delete-retention) and {@code compacted} topics is
     * missing, and checks the existing {@code compacted} ones.
     */
    public Result ensure(List<String> plain, List<String> compacted) {
        List<NewTopic> wanted = new ArrayList<>();
        plain.forEach(t -> wanted.add(new NewTopic(t, Optional.empty(), Optional.empty())));
        compacted.forEach(t -> wanted.add(new NewTopic(t, Optional.empty(), Optional.empty())
                .configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT))));
        Admin admin = Admin.create(adminConfig);
        try {
            Set<String> existing = admin.listTopics().names().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            List<NewTopic> missing = wanted.stream().filter(t -> !existing.contains(t.name())).toList();
            List<String> expiring = expiring(admin, compacted.stream().filter(existing::contains).toList());
            if (missing.isEmpty()) {
                return new Result(List.of(), expiring);
            }
            List<String> created = new ArrayList<>();
            java.util.concurrent.atomic.AtomicBoolean allThere = new java.util.concurrent.atomic.AtomicBoolean(true);
            admin.createTopics(missing).values().forEach((name, future) -> {
                try {
                    future.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
                    created.add(name);
                    LOG.info("created missing topic {}", name);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        allThere.set(false);
                        LOG.warn("could not create topic {}: {}", name, e.getCause().toString());
                    }
                } catch (InterruptedException e) {
                    allThere.set(false);
                    Thread.currentThread().interrupt();
                } catch (TimeoutException e) {
                    allThere.set(false);
                    LOG.warn("timed out creating topic {}", name);
                }
            });
            return new Result(created, expiring, allThere.get());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(List.of(), List.of(), false);
        } catch (ExecutionException | TimeoutException e) {
            LOG.warn("could not list topics to create missing ones or check them: {}", e.toString());
            return new Result(List.of(), List.of(), false);
        } finally {
            // bounded: close() waits for the calls still pending, up to their own 60 s timeout, while the
            // broker cannot be reached (the start then waited a minute more here before saying anything)
            admin.close(Duration.ofSeconds(2));
        }
    }

    /**
     * The problems of {@code topics}, which netfence needs compacted, each also logged as an error:
     * one that deletes its records after a retention time (not {@code compact}, retention not -1)
     * loses a policy or live-set entry not written again within it, so a netfence started later
     * does not know it (its containers quarantined with {@code POLICY_NOT_FOUND}, or left out of
     * the resyncs). Existing topics are not altered: the operator is told. Best effort: a broker
     * that denies DescribeConfigs is logged and yields nothing.
     */
    List<String> expiring(Admin admin, List<String> topics) throws InterruptedException {
        if (topics.isEmpty()) {
            return List.of();
        }
        List<ConfigResource> resources = topics.stream()
                .map(t -> new ConfigResource(ConfigResource.Type.TOPIC, t)).toList();
        Map<ConfigResource, Config> configs;
        try {
            configs = admin.describeConfigs(resources).all().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            LOG.warn("could not read the configs of {} to check they are compacted: {}", topics, e.toString());
            return List.of();
        }
        List<String> problems = new ArrayList<>();
        for (ConfigResource resource : resources) {
            Config config = configs.get(resource);
            String cleanup = value(config, TopicConfig.CLEANUP_POLICY_CONFIG);
            String retention = value(config, TopicConfig.RETENTION_MS_CONFIG);
            String bytes = value(config, TopicConfig.RETENTION_BYTES_CONFIG);
            // "compact,delete" deletes as "delete" does; a retention of -1 in time and size deletes nothing
            if (config == null || cleanup == null || !java.util.Arrays.asList(cleanup.split(",\\s*"))
                    .contains(TopicConfig.CLEANUP_POLICY_DELETE) || ("-1".equals(retention) && !positive(bytes))) {
                continue;
            }
            String problem = "topic " + resource.name() + " has cleanup.policy=" + cleanup + " with retention.ms="
                    + retention + (positive(bytes) ? " and retention.bytes=" + bytes : "") + ": its records are"
                    + " deleted past that, so a netfence started later does not know a policy or live-set entry not"
                    + " written again since; set cleanup.policy=compact (kafka-configs.sh --alter --entity-type"
                    + " topics --entity-name " + resource.name() + " --add-config cleanup.policy=compact)";
            LOG.error(problem);
            problems.add(problem);
        }
        return List.copyOf(problems);
    }

    private static boolean positive(String number) {
        return number != null && !number.equals("-1") && !number.startsWith("-");
    }

    private static String value(Config config, String name) {
        ConfigEntry entry = config == null ? null : config.get(name);
        return entry == null ? null : entry.value();
    }
}
