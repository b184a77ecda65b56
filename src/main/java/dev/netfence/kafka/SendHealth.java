package dev.netfence.kafka;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the sends of this instance say about its health, for {@code /readyz}: whether outputs are
 * held (refused for good, nothing smaller left to send, so their partition cannot commit past them)
 * and whether a topic has been refusing everything netfence sends it for longer than a bound (a
 * misconfigured {@code max.message.bytes}, a missing ACL). A streak starts at the first refused send
 * to a topic after a successful one and ends with the next success there; it counts once its
 * refusals have gone on for the bound (from its first to its latest): a single refusal on a quiet
 * node (an oversized outcome, replaced by its dead letter) is not a topic refusing everything,
 * however long nothing else is sent there. Outlives the Kafka clients the pipeline recreates.
 * Thread-safe.
 */
final class SendHealth {
    private final Clock clock;
    private final Duration bound;
    private final Map<String, Streak> streaks = new ConcurrentHashMap<>();
    private final AtomicInteger held = new AtomicInteger();
    private volatile String lastHeld = "";

    private record Streak(Instant since, Instant last, int refusals, String error) {}

    SendHealth(Clock clock, Duration bound) {
        this.clock = clock;
        this.bound = bound;
    }

    void succeeded(String topic) {
        if (!streaks.isEmpty()) {
            streaks.remove(topic);
        }
    }

    void refused(String topic, Throwable error) {
        String what = SendErrors.rootOf(error).toString();
        Instant now = clock.instant();
        streaks.compute(topic, (t, s) -> s == null ? new Streak(now, now, 1, what)
                : new Streak(s.since(), now, s.refusals() + 1, what));
    }

    /** An output is now held; {@code what} names it for the not-ready reason. */
    void hold(String what) {
        lastHeld = what;
        held.incrementAndGet();
    }

    void released() {
        held.decrementAndGet();
    }

    /** The held outputs were dropped with the clients that held them. */
    void releaseAll() {
        held.set(0);
    }

    int held() {
        return held.get();
    }

    Optional<String> notReadyReason() {
        int h = held.get();
        if (h > 0) {
            return Optional.of(h + " output(s) held because the broker refuses them for good, e.g. " + lastHeld);
        }
        for (Map.Entry<String, Streak> e : streaks.entrySet()) {
            Streak s = e.getValue();
            Duration d = Duration.between(s.since(), s.last());
            if (d.compareTo(bound) >= 0) {
                return Optional.of("topic " + e.getKey() + " has refused every output for " + d.toSeconds()
                        + " s (" + s.refusals() + " refused, none taken since): " + s.error());
            }
        }
        return Optional.empty();
    }
}
