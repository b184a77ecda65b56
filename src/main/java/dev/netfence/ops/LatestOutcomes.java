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
 * The newest outcome of each event and of each container, from the outcomes topic read from a time
 * to its current end: what {@code netfence replay --only-failed} asks of each event it scans, so
 * that a recovery re-drives only what did not take. Newest by {@code finishedAt}, whichever
 * partition holds which. An event whose newest outcome failed is settled all the same when its
 * container has a later outcome that did not fail (the reconciler applied the policy once it was
 * stored, trigger {@code policy-update}; or the container was removed). Only the status and time
 * are kept, and only for the node and task asked about, so a large topic costs little memory.
 * Outcomes without an event id (the reconciler's) count for their container only.
 */
public final class LatestOutcomes {
    private record Latest(String status, Instant finishedAt) {
        Latest newer(Latest other) {
            return other.finishedAt().isBefore(finishedAt) ? this : other;
        }
    }

    private final Map<String, Latest> byEvent;
    private final Map<String, Latest> byContainer;
    private final long unreadable;

    private LatestOutcomes(Map<String, Latest> byEvent, Map<String, Latest> byContainer, long unreadable) {
        this.byEvent = byEvent;
        this.byContainer = byContainer;
        this.unreadable = unreadable;
    }

    /**
     * Reads {@code topic} from {@code from} to its end, keeping the outcomes of {@code nodeId} and
     * {@code taskId} (null: any).
     *
     * @throws IllegalArgumentException when the topic does not exist
     */
    public static LatestOutcomes read(Consumer<byte[], byte[]> consumer, String topic, Instant from,
                                      Duration timeout, String nodeId, String taskId) {
        Objects.requireNonNull(from, "from");
        OutcomeCodec codec = new OutcomeCodec();
        Map<String, Latest> byEvent = new HashMap<>();
        Map<String, Latest> byContainer = new HashMap<>();
        long[] unreadable = new long[1];
        TopicRange.between(consumer, topic, from, null, timeout).read(consumer, timeout, record -> {
            Outcome outcome = decode(codec, record.value());
            if (outcome == null || outcome.finishedAt() == null || outcome.status() == null) {
                unreadable[0]++;
                return;
            }
            if ((nodeId != null && !nodeId.equals(outcome.nodeId())) || (taskId != null && !taskId.equals(outcome.taskId()))) {
                return;
            }
            Latest latest = new Latest(outcome.status(), outcome.finishedAt());
            if (outcome.eventId() != null) {
                byEvent.merge(outcome.eventId(), latest, Latest::newer);
            }
            if (outcome.containerId() != null) {
                byContainer.merge(outcome.containerId(), latest, Latest::newer);
            }
        });
        return new LatestOutcomes(byEvent, byContainer, unreadable[0]);
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
        Latest latest = byEvent.get(eventId);
        return latest == null ? null : latest.status();
    }

    /**
     * Whether the event still needs its effect: it has no outcome, or its newest one failed and
     * its container has no later outcome that did not fail.
     */
    public boolean failedOrMissing(String eventId, String containerId) {
        Latest event = byEvent.get(eventId);
        if (event == null) {
            return true;
        }
        if (!"failed".equals(event.status())) {
            return false;
        }
        Latest container = containerId == null ? null : byContainer.get(containerId);
        return container == null || !container.finishedAt().isAfter(event.finishedAt())
                || "failed".equals(container.status());
    }

    /** How many events have an outcome in the range read. */
    public int events() {
        return byEvent.size();
    }

    /** How many records of the range were not readable outcomes. */
    public long unreadable() {
        return unreadable;
    }
}
