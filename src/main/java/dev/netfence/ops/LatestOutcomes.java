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
 * that a recovery re-drives only what did not take. Newest: on one partition (outcomes are keyed
 * by container, so a container's are all on one) the later offset, whatever the clocks of the
 * instances that stamped them (after a wall-clock step an older failure could otherwise outrank a
 * later success and re-drive a healthy container: review 200); on two (partitions were added) the
 * later {@code finishedAt}. An event whose newest outcome failed is settled all the same when its
 * container has a later outcome that did not fail (the reconciler applied the policy once it was
 * stored, trigger {@code policy-update}; or the container was removed). Only the status and time
 * are kept, and only for the node and task asked about, so a large topic costs little memory.
 * Outcomes without an event id (the reconciler's) count for their container only.
 */
public final class LatestOutcomes {
    private record Latest(String status, Instant finishedAt, int partition, long offset) {
        Latest newer(Latest other) {
            return other.after(this) ? other : this;
        }

        /** Whether this outcome came after {@code other}: the later offset on one partition, else the later time. */
        boolean after(Latest other) {
            return partition == other.partition ? offset > other.offset : finishedAt.isAfter(other.finishedAt);
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
            Latest latest = new Latest(outcome.status(), outcome.finishedAt(), record.partition(), record.offset());
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
        return container == null || !container.after(event) || "failed".equals(container.status());
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
