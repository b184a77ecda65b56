package dev.netfence.ops;

import java.util.Objects;

/**
 * The answer of a liveness or readiness check: up, or down with a reason an operator can act on
 * ("partitions not assigned yet", "policy store catching up: 120 records behind"). The HTTP
 * endpoints turn it into 200 or 503 with the reason as the body.
 */
public record HealthStatus(boolean healthy, String reason) {

    public HealthStatus {
        Objects.requireNonNull(reason, "reason");
        if (!healthy && reason.isBlank()) {
            throw new IllegalArgumentException("a down status needs a reason");
        }
    }

    public static HealthStatus up() {
        return new HealthStatus(true, "ok");
    }

    public static HealthStatus down(String reason) {
        return new HealthStatus(false, reason);
    }
}
