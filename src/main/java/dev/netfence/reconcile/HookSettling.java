package dev.netfence.reconcile;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * When each container's OCI hook last ran, for {@link #SETTLE} after it: at {@code createRuntime}
 * the runtime has not dropped the container's capabilities yet (runc drops them after its hooks
 * return, milliseconds later, before it waits to exec), so a capability read until then would find
 * every one of them: a pod refused for nothing under {@code --refuse-capabilities}, an outcome
 * listing risks the container never holds. What reads a hooked container's capabilities (its
 * resync's read, the correction that applies a restarted container's policy) waits until its hook
 * has settled. Measured on the steady clock, so neither a later correction nor a step of the wall
 * clock moves it. Entries past {@link #SETTLE} are dropped as new ones come, so it holds only the
 * hooks of the last half second. Thread-safe.
 */
final class HookSettling {
    /** How long after a container's hook its capabilities are first read. */
    static final Duration SETTLE = Duration.ofMillis(500);

    private final Clock steady;
    private final Map<String, Instant> hooked = new ConcurrentHashMap<>();

    HookSettling(Clock steady) {
        this.steady = steady;
    }

    /** {@code containerId}'s hook runs now. */
    void hooked(String containerId) {
        Instant now = steady.instant();
        hooked.values().removeIf(at -> !at.plus(SETTLE).isAfter(now));
        hooked.put(containerId, now);
    }

    /** How long until {@code containerId}'s capabilities may be read: zero when no hook of it ran in the last {@link #SETTLE}. */
    Duration remaining(String containerId) {
        Instant at = hooked.get(containerId);
        if (at == null) {
            return Duration.ZERO;
        }
        Duration left = Duration.between(steady.instant(), at.plus(SETTLE));
        if (left.isNegative() || left.isZero()) {
            hooked.remove(containerId, at);
            return Duration.ZERO;
        }
        return left;
    }
}
