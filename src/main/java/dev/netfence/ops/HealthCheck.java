package dev.netfence.ops;

/**
 * A liveness or readiness probe the service supplies to {@link MetricsServer}. It is called on
 * the HTTP thread for every request, so it must be cheap and thread-safe (read a volatile flag or
 * an atomic, never block on Kafka).
 */
@FunctionalInterface
public interface HealthCheck {

    HealthStatus check();
}
