package dev.netfence.ops;

import dev.netfence.event.Outcome;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * What an operator wants to know about a batch of outcomes: how many per status and per error
 * code, the event-to-outcome latency percentiles (nearest-rank p50/p95/p99 and max over the
 * outcomes that carry a latency), and the most recent failures. Immutable; folded from the
 * outcomes read by {@link OutcomeTally}, rendered as a table by {@link OutcomeTable} or as JSON by the command.
 */
public record OutcomeSummary(
        int total,
        Map<String, Integer> byStatus,
        Map<String, Integer> byErrorCode,
        int replays,
        Latency latency,
        List<Outcome> latestFailures) {

    /** Latency percentiles in milliseconds; {@code count} is how many outcomes had a latency. */
    public record Latency(int count, long p50, long p95, long p99, long max) {
    }

    public OutcomeSummary {
        byStatus = Map.copyOf(byStatus);
        byErrorCode = Map.copyOf(byErrorCode);
        latestFailures = List.copyOf(latestFailures);
    }

    /**
     * @param failureLimit how many of the most recent failed outcomes to keep (newest first)
     */
    public static OutcomeSummary of(List<Outcome> outcomes, int failureLimit) {
        Objects.requireNonNull(outcomes, "outcomes");
        if (failureLimit < 0) {
            throw new IllegalArgumentException("failureLimit must be >= 0, was " + failureLimit);
        }
        OutcomeTally tally = new OutcomeTally(0, failureLimit);
        outcomes.forEach(tally::add);
        return tally.summary();
    }

    /** Status counts in a fixed order: applied, failed, skipped, then any others by name. */
    public Map<String, Integer> statusCounts() {
        Map<String, Integer> ordered = new java.util.LinkedHashMap<>();
        for (String status : List.of("applied", "failed", "skipped")) {
            ordered.put(status, byStatus.getOrDefault(status, 0));
        }
        new TreeMap<>(byStatus).forEach(ordered::putIfAbsent);
        return ordered;
    }

    /** The percentiles of {@code sorted} (ascending). */
    static Latency latency(long[] sorted) {
        if (sorted.length == 0) {
            return new Latency(0, 0, 0, 0, 0);
        }
        return new Latency(sorted.length, rank(sorted, 50), rank(sorted, 95), rank(sorted, 99), sorted[sorted.length - 1]);
    }

    /** Nearest-rank percentile: the smallest value with at least p% of the values at or below it. */
    private static long rank(long[] sorted, int percentile) {
        int index = (int) Math.ceil(percentile / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, index)];
    }
}
