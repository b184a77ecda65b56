package dev.netfence.ops;

import dev.netfence.event.Outcome;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * What an operator wants to know about a batch of outcomes: how many per status and per error
 * code, the event-to-outcome latency percentiles (nearest-rank p50/p95/p99 and max over the
 * outcomes that carry a latency), and the most recent failures. Immutable; built once from the
 * outcomes read, rendered as a table by {@link OutcomeTable} or as JSON by the command.
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
        Map<String, Integer> byStatus = new TreeMap<>();
        Map<String, Integer> byCode = new TreeMap<>();
        List<Long> latencies = new ArrayList<>();
        List<Outcome> failures = new ArrayList<>();
        int replays = 0;
        for (Outcome outcome : outcomes) {
            byStatus.merge(outcome.status(), 1, Integer::sum);
            if (outcome.errorCode() != null) {
                byCode.merge(outcome.errorCode(), 1, Integer::sum);
            }
            if (outcome.latencyMs() != null) {
                latencies.add(outcome.latencyMs());
            }
            if ("failed".equals(outcome.status())) {
                failures.add(outcome);
            }
            if (outcome.replay()) {
                replays++;
            }
        }
        failures.sort(Comparator.comparing(Outcome::finishedAt).reversed());
        return new OutcomeSummary(outcomes.size(), byStatus, byCode, replays, latency(latencies),
                failures.subList(0, Math.min(failureLimit, failures.size())));
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

    private static Latency latency(List<Long> values) {
        if (values.isEmpty()) {
            return new Latency(0, 0, 0, 0, 0);
        }
        long[] sorted = values.stream().mapToLong(Long::longValue).sorted().toArray();
        return new Latency(sorted.length, rank(sorted, 50), rank(sorted, 95), rank(sorted, 99), sorted[sorted.length - 1]);
    }

    /** Nearest-rank percentile: the smallest value with at least p% of the values at or below it. */
    private static long rank(long[] sorted, int percentile) {
        int index = (int) Math.ceil(percentile / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, index)];
    }
}
