package dev.netfence.bench;

import dev.netfence.enforce.DefaultEnforcer;
import dev.netfence.enforce.EnforcerConfig;
import dev.netfence.enforce.EnforcerVariants;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.policy.NetworkPolicy;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Part of section 3 (seed): what issue 12's containment steps add to a container's first apply,
 * the one every {@code container.started} event brings, where {@link ContainmentBench} measures
 * applies into a namespace each enforcer has applied to many times (its kept sockets, parked nft
 * context and cached cgroup directories warm). Two enforcers of the nft backend in this JVM, the
 * production one and {@link EnforcerVariants#withoutContainment}, each warmed up on a namespace of
 * its own first; then each pair takes two namespaces no enforcer has seen (made by bench.sh for
 * this section), one for each variant, the order inside a pair and which namespace each variant
 * takes swapping every pair, and the variant that leads the even pairs every 16 pairs, as in
 * {@link ContainmentBench}. Each apply is timed (wall). Figures: {@code
 * containment_first_overhead_nft}, the median of (apply with / apply without) within a pair, with
 * a bootstrap 95% interval; and its A/A ratio, the median without-apply of pairs 0,1,4,5,… over
 * that of pairs 2,3,6,7,… (the same code on different namespaces: what a ratio of this run cannot
 * tell from noise).
 */
final class FirstApplyBench {
    private final BenchArgs args;

    FirstApplyBench(BenchArgs args) {
        this.args = args;
    }

    /** The figures and details over {@code fresh} (at least 4 namespaces nothing applied to yet), with {@code policy}. */
    Map<String, Object> run(List<Sandboxes.Sandbox> fresh, NetworkPolicy policy) {
        if (fresh.size() < 4) {
            throw new IllegalArgumentException("the first-apply comparison needs 4 fresh sandboxes, got " + fresh.size());
        }
        EnforcerConfig config = EnforcerConfig.custom().backend(BackendChoice.NFT)
                .cgroupCheck(Boolean.parseBoolean(args.string("cgroup-check", "true"))).build();
        ProcessCommandRunner runner = new ProcessCommandRunner();
        DefaultEnforcer with = new DefaultEnforcer(config, runner, Clock.systemUTC(), new SimpleMeterRegistry());
        DefaultEnforcer without = EnforcerVariants.withoutContainment(config, runner, Clock.systemUTC(),
                new SimpleMeterRegistry());
        SeedBench.applyOnce(with, fresh.get(0), policy); // each enforcer's own first apply: its caches, not the namespace's
        SeedBench.applyOnce(without, fresh.get(1), policy);
        int pairs = (fresh.size() - 2) / 2;
        int block = Math.min(16, Math.max(1, pairs / 2));
        List<Double> ratios = new ArrayList<>();
        List<Double> withMs = new ArrayList<>();
        List<Double> withoutMs = new ArrayList<>();
        List<Double> aaFirst = new ArrayList<>();
        List<Double> aaSecond = new ArrayList<>();
        for (int i = 0; i < pairs; i++) {
            boolean withFirst = (i % 2 == 0) != ((i / block) % 2 == 1);
            Sandboxes.Sandbox a = fresh.get(2 + 2 * i);
            Sandboxes.Sandbox b = fresh.get(3 + 2 * i);
            double first = timed(withFirst ? with : without, a, policy);
            double second = timed(withFirst ? without : with, b, policy);
            double on = withFirst ? first : second;
            double off = withFirst ? second : first;
            withMs.add(on);
            withoutMs.add(off);
            ratios.add(on / off);
            (i / 2 % 2 == 0 ? aaFirst : aaSecond).add(off);
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("containment_first_overhead_nft", Stats.round(Stats.median(ratios), 3));
        r.put("containment_first_aa_nft", aaSecond.isEmpty() ? null
                : Stats.round(Stats.median(aaFirst) / Stats.median(aaSecond), 3));
        Map<String, Object> detail = new LinkedHashMap<>();
        detail.put("overhead_ci95", ContainmentBench.bootstrapMedianInterval(ratios));
        detail.put("with_ms_median", Stats.round(Stats.median(withMs), 3));
        detail.put("without_ms_median", Stats.round(Stats.median(withoutMs), 3));
        detail.put("median_ratio", Stats.round(Stats.median(withMs) / Stats.median(withoutMs), 3));
        detail.put("pairs", pairs);
        r.put("containment_first", detail);
        System.err.printf("seed: containment on first applies (nft): with %.3f ms, without %.3f ms (medians of %d fresh"
                + " namespaces each), median pair ratio %.3f%n", Stats.median(withMs), Stats.median(withoutMs), pairs,
                Stats.median(ratios));
        return r;
    }

    private static double timed(DefaultEnforcer enforcer, Sandboxes.Sandbox box, NetworkPolicy policy) {
        long t0 = System.nanoTime();
        SeedBench.applyOnce(enforcer, box, policy);
        return (System.nanoTime() - t0) / 1e6;
    }
}
