package dev.netfence.kafka;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;

/**
 * Answers "can we reach the broker right now?" for readiness: every two seconds an admin client
 * asks for the cluster's nodes with a short timeout, and, when they answer and the watch says it
 * is due, for the events topic's description ({@link EventsTopicWatch#due}). A poll loop cannot
 * tell, because a consumer keeps polling quietly while the broker is away.
 */
final class BrokerProbe implements AutoCloseable {
    private final Map<String, Object> settings;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "netfence-broker-probe");
        t.setDaemon(true);
        return t;
    });
    private final EventsTopicWatch topic;
    private volatile boolean reachable;
    private Admin admin;

    BrokerProbe(Map<String, Object> adminSettings, EventsTopicWatch topic) {
        this.settings = Map.copyOf(adminSettings);
        this.topic = java.util.Objects.requireNonNull(topic, "topic");
    }

    void start() {
        timer.scheduleWithFixedDelay(this::probe, 0, 2, TimeUnit.SECONDS);
    }

    boolean reachable() {
        return reachable;
    }

    /** What the last rounds found of the events topic ({@link EventsTopicWatch#reason}). */
    Optional<String> eventsTopic() {
        return topic.reason();
    }

    /**
     * Whether consumer group {@code groupId} has a member with static id {@code instanceId};
     * empty when the broker could not say within 3 s. On the caller's thread, with the probe's
     * admin client (made here if the probe has not made it yet).
     */
    Optional<Boolean> hasStaticMember(String groupId, String instanceId) {
        try {
            Admin a = admin();
            return Optional.of(a.describeConsumerGroups(List.of(groupId)).describedGroups().get(groupId)
                    .get(3, TimeUnit.SECONDS).members().stream()
                    .anyMatch(m -> m.groupInstanceId().filter(instanceId::equals).isPresent()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        } catch (Exception e) {
            return Optional.empty();
        }
    }

    /** The probe's admin client, made here if the probe has not made it yet (thread-safe, as Kafka's admin client is). */
    synchronized Admin admin() {
        if (admin == null) {
            admin = Admin.create(settings);
        }
        return admin;
    }

    private void probe() {
        try {
            reachable = !admin().describeCluster().nodes().get(3, TimeUnit.SECONDS).isEmpty();
            if (reachable && topic.due()) {
                topic.check(admin());
            }
        } catch (Exception e) {
            reachable = false;
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
        try {
            timer.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            if (admin != null) {
                admin.close(java.time.Duration.ofSeconds(2));
            }
        }
    }
}
