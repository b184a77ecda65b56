package dev.netfence.kafka;

import dev.netfence.event.Outcome;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Puts in the log, at WARN, each event that ends {@code failed} and each record dead-lettered,
 * with where it was read, the container, the code and the message, so that a node's own log says
 * why an event failed without reading the outcomes or dead-letter topics (review 200 #6: a poison
 * record, an invalid event and POLICY_NOT_FOUND left no line at all). A stream of bad records
 * must not fill the disk: at most {@link #BURST} lines per {@link #WINDOW}, then one line, when
 * the next window opens, saying how many were left out (the metrics count every one).
 * Thread-safe.
 */
final class ProblemLog {
    private static final Logger LOG = LoggerFactory.getLogger(ProblemLog.class);
    static final int BURST = 20;
    static final Duration WINDOW = Duration.ofMinutes(1);

    private final Clock steady;
    private long windowStart = Long.MIN_VALUE;
    private int written;
    private long leftOut;

    /** {@code steady}: a clock that never steps (the pipeline's steady clock). */
    ProblemLog(Clock steady) {
        this.steady = Objects.requireNonNull(steady, "steady");
    }

    /** A record dead-lettered: its place, the code and message, and the container where the record named one. */
    void deadLettered(String topic, int partition, long offset, String code, String message, String containerId) {
        if (allowed()) {
            LOG.warn("record {}-{}@{} dead-lettered{}: {} {}", topic, partition, offset,
                    containerId == null ? "" : " (container " + containerId + ")", code, message);
        }
    }

    /** An event's outcome, logged when it is {@code failed}; read at {@code topic-partition@offset}. */
    void outcome(Outcome o, String topic, int partition, long offset) {
        if (!"failed".equals(o.status()) || !allowed()) {
            return;
        }
        LOG.warn("event {} of container {} (task {}, record {}-{}@{}) failed{}: {} {}", o.eventId(), o.containerId(),
                o.taskId(), topic, partition, offset, o.quarantined() ? ", quarantined" : "",
                o.error() == null ? "" : o.error().code(), o.error() == null ? "" : o.error().message());
    }

    private boolean allowed() {
        long now = steady.millis();
        long leftOutBefore;
        synchronized (this) {
            if (windowStart == Long.MIN_VALUE || now - windowStart >= WINDOW.toMillis()) {
                leftOutBefore = leftOut;
                windowStart = now;
                written = 0;
                leftOut = 0;
            } else {
                leftOutBefore = 0;
            }
            if (written >= BURST) {
                leftOut++;
                return false;
            }
            written++;
        }
        if (leftOutBefore > 0) {
            LOG.warn("{} more failed events or dead letters were not logged in the last {} s (at most {} lines a"
                    + " window; netfence_outcomes_total and netfence_dlq_records_total count them all)",
                    leftOutBefore, WINDOW.toSeconds(), BURST);
        }
        return true;
    }
}
