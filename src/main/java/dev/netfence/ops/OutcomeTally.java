package dev.netfence.ops;

import dev.netfence.event.Outcome;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.TreeMap;

/**
 * Folds outcomes one at a time into what {@code netfence outcomes} prints: the counts and latency
 * percentiles of {@link OutcomeSummary}, the newest failures and the newest outcomes (for the
 * table's rows). Memory does not grow with the outcomes read but for one {@code long} per latency
 * (the percentiles are exact): a topic holding months of outcomes is read through, not held.
 * Among outcomes finished at the same instant, the one read first counts as older for the rows and
 * as newer for the failures, as a stable sort of everything read would. Not thread-safe.
 */
public final class OutcomeTally {
    private record Seen(Outcome outcome, long seq) {
    }

    /** Oldest first: finish time, then read order. */
    private static final Comparator<Seen> OLDEST_FIRST =
            Comparator.comparing((Seen s) -> s.outcome().finishedAt()).thenComparingLong(Seen::seq);
    /** The failure listed last first: earliest finish time, then the one read last. */
    private static final Comparator<Seen> LEAST_RECENT_FAILURE =
            Comparator.comparing((Seen s) -> s.outcome().finishedAt()).thenComparing(Seen::seq, Comparator.reverseOrder());

    private final int rowLimit;
    private final int failureLimit;
    private final PriorityQueue<Seen> rows = new PriorityQueue<>(OLDEST_FIRST);
    private final PriorityQueue<Seen> failures = new PriorityQueue<>(LEAST_RECENT_FAILURE);
    private final Map<String, Integer> byStatus = new TreeMap<>();
    private final Map<String, Integer> byCode = new TreeMap<>();
    private long[] latencies = new long[64];
    private int latencyCount;
    private int total;
    private int replays;
    private long seq;

    /**
     * @param rowLimit how many of the newest outcomes {@link #newest} keeps
     * @param failureLimit how many of the newest failures the summary lists
     */
    public OutcomeTally(int rowLimit, int failureLimit) {
        if (rowLimit < 0) {
            throw new IllegalArgumentException("rowLimit must be >= 0, was " + rowLimit);
        }
        if (failureLimit < 0) {
            throw new IllegalArgumentException("failureLimit must be >= 0, was " + failureLimit);
        }
        this.rowLimit = rowLimit;
        this.failureLimit = failureLimit;
    }

    public void add(Outcome outcome) {
        Seen seen = new Seen(outcome, seq++);
        total++;
        byStatus.merge(outcome.status(), 1, Integer::sum);
        if (outcome.errorCode() != null) {
            byCode.merge(outcome.errorCode(), 1, Integer::sum);
        }
        if (outcome.latencyMs() != null) {
            if (latencyCount == latencies.length) {
                latencies = Arrays.copyOf(latencies, latencies.length * 2);
            }
            latencies[latencyCount++] = outcome.latencyMs();
        }
        if (outcome.replay()) {
            replays++;
        }
        keep(rows, seen, rowLimit);
        if ("failed".equals(outcome.status())) {
            keep(failures, seen, failureLimit);
        }
    }

    /** The newest outcomes added (at most the row limit), oldest first. */
    public List<Outcome> newest() {
        List<Seen> kept = new ArrayList<>(rows);
        kept.sort(OLDEST_FIRST);
        return kept.stream().map(Seen::outcome).toList();
    }

    /** The summary of everything added so far. */
    public OutcomeSummary summary() {
        List<Seen> listed = new ArrayList<>(failures);
        listed.sort(LEAST_RECENT_FAILURE.reversed());
        long[] sorted = Arrays.copyOf(latencies, latencyCount);
        Arrays.sort(sorted);
        return new OutcomeSummary(total, byStatus, byCode, replays, OutcomeSummary.latency(sorted),
                listed.stream().map(Seen::outcome).toList());
    }

    private static void keep(PriorityQueue<Seen> queue, Seen seen, int limit) {
        if (limit == 0) {
            return;
        }
        queue.add(seen);
        if (queue.size() > limit) {
            queue.poll();
        }
    }
}
