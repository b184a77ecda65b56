package dev.netfence.ops;

import dev.netfence.event.Outcome;
import dev.netfence.event.OutcomeCodec;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import org.apache.kafka.clients.consumer.Consumer;

/**
 * The newest outcome's status of each event, from the outcomes topic read from a time to its
 * current end: what {@code netfence replay --only-failed} asks of each event it scans, so that a
 * recovery re-drives only what did not take (newest by {@code finishedAt}, so a replay's
 * {@code applied} after an earlier {@code failed} counts, whichever partition holds which).
 * Records that do not decode as outcomes are counted, not guessed at.
 */
public final class LatestOutcomes {
    private final Map<String, Outcome> newest;
    private final long unreadable;

    private LatestOutcomes(Map<String, Outcome> newest, long unreadable) {
        this.newest = newest;
        this.unreadable = unreadable;
    }

    /**
     * Reads {@code topic} from {@code from} to its end.
     *
     * @throws IllegalArgumentException when the topic does not exist
     */
    public static LatestOutcomes read(Consumer<byte[], byte[]> consumer, String topic, Instant from,
                                      Duration timeout) {
        Objects.requireNonNull(from, "from");
        OutcomeCodec codec = new OutcomeCodec();
        Map<String, Outcome> newest = new HashMap<>();
        long[] unreadable = new long[1];
        TopicRange.between(consumer, topic, from, null, timeout).read(consumer, timeout, record -> {
            Outcome outcome = decode(codec, record.value());
            if (outcome == null || outcome.eventId() == null || outcome.finishedAt() == null) {
                unreadable[0]++;
                return;
            }
            newest.merge(outcome.eventId(), outcome,
                    (kept, next) -> next.finishedAt().isBefore(kept.finishedAt()) ? kept : next);
        });
        return new LatestOutcomes(newest, unreadable[0]);
    }

    private static Outcome decode(OutcomeCodec codec, byte[] value) {
        if (value == null) {
            return null;
        }
        try {
            return codec.decode(value);
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** The status of {@code eventId}'s newest outcome, or null when it has none in the range read. */
    public String status(String eventId) {
        Outcome outcome = newest.get(eventId);
        return outcome == null ? null : outcome.status();
    }

    /** Whether {@code eventId} still needs its effect: its newest outcome failed, or it has none. */
    public boolean failedOrMissing(String eventId) {
        String status = status(eventId);
        return status == null || "failed".equals(status);
    }

    /** How many events have an outcome in the range read. */
    public int events() {
        return newest.size();
    }

    /** How many records of the range were not readable outcomes. */
    public long unreadable() {
        return unreadable;
    }
}
