package dev.netfence.ops;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.ErrorCode;
import dev.netfence.event.Outcome;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/**
 * {@link OutcomeTally}, which reads outcomes through in bounded memory, prints what holding every
 * outcome read and sorting them did (the command before it): the newest rows by a stable sort on
 * the finish time, the newest failures newest first, the counts and the exact percentiles. Finish
 * times are drawn from a few seconds so that ties are common.
 */
class OutcomeTallyProperties {

    @Property(tries = 300)
    void theTallyPrintsWhatSortingEverythingReadPrints(@ForAll("outcomes") List<Outcome> outcomes,
            @ForAll @IntRange(min = 0, max = 25) int rowLimit, @ForAll @IntRange(min = 0, max = 10) int failureLimit) {
        OutcomeTally tally = new OutcomeTally(rowLimit, failureLimit);
        outcomes.forEach(tally::add);

        List<Outcome> byTime = new ArrayList<>(outcomes);
        byTime.sort(Comparator.comparing(Outcome::finishedAt));
        assertThat(tally.newest()).containsExactlyElementsOf(byTime.subList(Math.max(0, byTime.size() - rowLimit), byTime.size()));

        OutcomeSummary summary = tally.summary();
        List<Outcome> failures = new ArrayList<>(outcomes.stream().filter(o -> "failed".equals(o.status())).toList());
        failures.sort(Comparator.comparing(Outcome::finishedAt).reversed());
        assertThat(summary.latestFailures()).containsExactlyElementsOf(failures.subList(0, Math.min(failureLimit, failures.size())));
        assertThat(summary.total()).isEqualTo(outcomes.size());
        Map<String, Integer> byStatus = new TreeMap<>();
        outcomes.forEach(o -> byStatus.merge(o.status(), 1, Integer::sum));
        assertThat(summary.byStatus()).isEqualTo(byStatus);
        assertThat(summary.replays()).isEqualTo((int) outcomes.stream().filter(Outcome::replay).count());
        long[] sorted = outcomes.stream().filter(o -> o.latencyMs() != null).mapToLong(Outcome::latencyMs).sorted().toArray();
        assertThat(summary.latency().count()).isEqualTo(sorted.length);
        if (sorted.length > 0) {
            assertThat(summary.latency().p99()).isEqualTo(sorted[Math.max(0, (int) Math.ceil(0.99 * sorted.length) - 1)]);
            assertThat(summary.latency().max()).isEqualTo(sorted[sorted.length - 1]);
        }
    }

    @Provide
    Arbitrary<List<Outcome>> outcomes() {
        Arbitrary<Outcome> one = Combinators.combine(
                Arbitraries.integers().between(0, 99_999),
                Arbitraries.of("applied", "failed", "skipped"),
                Arbitraries.longs().between(0, 500).injectNull(0.2),
                Arbitraries.integers().between(0, 5),
                Arbitraries.of(true, false))
                .as((n, status, latency, second, replay) -> OutcomeSummaryTest.outcome("c" + n, status,
                        "failed".equals(status) ? ErrorCode.TIMEOUT : null, latency, second, replay));
        return one.list().ofMaxSize(60);
    }
}
