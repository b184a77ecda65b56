package dev.netfence.kafka;

import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;

/**
 * Answers "can we reach the broker right now?" for readiness: every two seconds an admin client
 * asks for the cluster's nodes with a short timeout. A poll loop cannot tell, because a consumer
 * keeps polling quietly while the broker is away.
 */
final class BrokerProbe implements AutoCloseable {
    private final Map<String, Object> settings;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "netfence-broker-probe");
        t.setDaemon(true);
        return t;
    });
    private volatile boolean reachable;
    private Admin admin;

    BrokerProbe(Map<String, Object> adminSettings) {
        this.settings = Map.copyOf(adminSettings);
    }

    void start() {
        timer.scheduleWithFixedDelay(this::probe, 0, 2, TimeUnit.SECONDS);
    }

    boolean reachable() {
        return reachable;
    }

    private void probe() {
        try {
            if (admin == null) {
                admin = Admin.create(settings);
            }
            reachable = !admin.describeCluster().nodes().get(3, TimeUnit.SECONDS).isEmpty();
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
        if (admin != null) {
            admin.close(java.time.Duration.ofSeconds(2));
        }
    }
}
