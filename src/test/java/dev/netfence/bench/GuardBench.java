package dev.netfence.bench;

import dev.netfence.core.EnforcementResult;
import dev.netfence.enforce.DefaultEnforcer;
import dev.netfence.enforce.EnforcementRequest;
import dev.netfence.enforce.EnforcerConfig;
import dev.netfence.hostguard.GuardChain;
import dev.netfence.hostguard.HostGuardMode;
import dev.netfence.hostguard.HostGuards;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * Section 6, the host guard's cost (issue 14). The sandboxes of this section have their
 * {@code eth0} as a veth whose peer lives in the host namespace (as podman's bridge gives a
 * container), so a guard has a host side to hold. The production {@link DefaultEnforcer} (the
 * service's wiring, default backend) is built twice in this JVM: with {@code --host-guard off}
 * (in-namespace rules alone) and with {@code --host-guard required} (in-namespace rules, then the
 * chain of {@code table netdev netfence} on the host veth; every result must say
 * {@code guards: ["netns","host"]}). After an untimed warm-up (75 applies per sandbox, single-threaded
 * and then from the threads, each contender: 40 in all left the JIT compiling through the first
 * repetitions), each repetition times both. Single-threaded, their applies alternate one by one:
 * a pair is one apply of each on the same sandbox, back to back, which one first alternating pair
 * by pair, so whatever else the machine does at a moment falls on both alike (figure:
 * guard_ratio, the median over all pairs of with guard / alone; the ms figures are the medians of
 * the applies). From {@code --concurrency} threads, the two take turns in four blocks per
 * repetition (off-on, on-off, off-on, on-off): applies per second, and guard_parallel_ratio, the
 * median over the repetitions of alone / with guard (the guard's host-table writes take turns under one lock, which a single
 * thread does not show; applies queued there are written together, GuardWrites). Each sandbox's
 * applies alternate between two policies (same size, different endpoints), so every apply changes
 * the rules and every guarded apply writes its host chain, as for a new container or a policy
 * update: a re-apply of unchanged rules writes nothing (HostGuards), which would flatter the
 * figure. Goal for both: at most 1.5. The unchanged re-apply (a replayed event; what a resync
 * does) is timed apart, in pairs too: guard_reapply_ms and guard_reapply_ratio.
 * At the end the section releases every chain it installed; bench.sh then checks the host table
 * holds none of its interfaces.
 */
final class GuardBench {
    private final BenchArgs args;

    GuardBench(BenchArgs args) {
        this.args = args;
    }

    Map<String, Object> run() throws Exception {
        List<Sandboxes.Sandbox> boxes = Sandboxes.read(args.path("sandboxes")).all();
        int events = args.integer("events", 200);
        int parallelEvents = args.integer("parallel-events", 3 * events);
        int reps = args.integer("reps", 3);
        int concurrency = args.integer("concurrency", 8);
        int warmup = args.integer("warmup", 75 * boxes.size());
        List<List<NetworkPolicy>> policies = new ArrayList<>();
        PolicyParser parser = new PolicyParser();
        for (int i = 0; i < boxes.size(); i++) {
            // two variants per sandbox, far apart so no two sandboxes share one. BenchData repeats a
            // variant every 250 (its addresses are 7 * variant mod 250): 500 + i was i again, so the
            // "changed" apply rewrote nothing and the guard's write was never timed
            NetworkPolicy first = parser.parse(BenchData.policy(EnforceBench.ENDPOINTS, i).getBytes(StandardCharsets.UTF_8));
            NetworkPolicy second = parser.parse(BenchData.policy(EnforceBench.ENDPOINTS, 100 + i).getBytes(StandardCharsets.UTF_8));
            if (first.equals(second)) {
                throw new IllegalStateException("the two policies of sandbox " + i + " are equal: no apply would change the rules");
            }
            policies.add(List.of(first, second));
        }
        EnforcerConfig config = EnforcerConfig.custom()
                .cgroupCheck(Boolean.parseBoolean(args.string("cgroup-check", "true"))).build();
        ProcessCommandRunner runner = new ProcessCommandRunner();
        HostGuards guards = HostGuards.create(HostGuardMode.REQUIRED, runner);
        DefaultEnforcer alone = new DefaultEnforcer(config, runner, Clock.systemUTC(), new SimpleMeterRegistry(),
                HostGuards.create(HostGuardMode.OFF, runner));
        DefaultEnforcer guarded = new DefaultEnforcer(config, runner, Clock.systemUTC(), new SimpleMeterRegistry(),
                guards);
        Contender off = new Contender(alone, boxes, policies, List.of("netns"));
        Contender on = new Contender(guarded, boxes, policies, List.of("netns", "host"));
        List<Double> offMs = new ArrayList<>();
        List<Double> onMs = new ArrayList<>();
        List<Double> offRate = new ArrayList<>();
        List<Double> onRate = new ArrayList<>();
        List<Double> offSameMs = new ArrayList<>();
        List<Double> onSameMs = new ArrayList<>();
        List<Double> ratios = new ArrayList<>();
        List<Double> parallelRatios = new ArrayList<>();
        List<Double> sameRatios = new ArrayList<>();
        try {
            // not timed: JNA, namespace threads, JIT, the first table and chain; single-threaded and in parallel
            for (Contender c : List.of(off, on)) {
                c.applies(warmup, 1);
                c.applies(warmup, concurrency);
            }
            for (int rep = 0; rep < reps; rep++) {
                boolean offFirst = rep % 2 == 0;
                List<Double> pairs = pairs(off, on, events, offMs, onMs);
                ratios.addAll(pairs);
                // four blocks each, in the order off-on, on-off, off-on, on-off: a drift of the machine's
                // speed within the repetition falls on both alike
                double offSeconds = 0;
                double onSeconds = 0;
                int block = parallelEvents / 4;
                for (int b = 0; b < 4; b++) {
                    for (Contender c : (b % 2 == 0) == offFirst ? List.of(off, on) : List.of(on, off)) {
                        double seconds = c.applies(block, concurrency);
                        if (c == off) {
                            offSeconds += seconds;
                        } else {
                            onSeconds += seconds;
                        }
                    }
                }
                offRate.add(4 * block / offSeconds);
                onRate.add(4 * block / onSeconds);
                parallelRatios.add(onSeconds / offSeconds);
                off.unchanged = true;
                on.unchanged = true;
                List<Double> same = pairs(off, on, events, offSameMs, onSameMs);
                off.unchanged = false;
                on.unchanged = false;
                sameRatios.addAll(same);
                System.err.printf("guard rep %d: median pair ratio %.3f (single thread, %d pairs); from %d threads "
                        + "alone %.1f/s, with guard %.1f/s; unchanged re-apply median pair ratio %.3f%n",
                        rep + 1, Stats.median(pairs), events, concurrency, offRate.get(rep), onRate.get(rep),
                        Stats.median(same));
            }
        } finally {
            for (Sandboxes.Sandbox box : boxes) {
                guards.release(GuardChain.ownerOf(box.containerId(), box.pid()));
            }
        }
        if (guards.count() != 0) {
            throw new IllegalStateException("host guards left after release: " + guards.installed().keySet());
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("guard_off_apply_ms", Stats.round(Stats.median(offMs), 3));
        r.put("guard_apply_ms", Stats.round(Stats.median(onMs), 3));
        r.put("guard_ratio", Stats.round(Stats.median(ratios), 3));
        r.put("guard_off_events_per_s", Stats.round(Stats.median(offRate), 1));
        r.put("guard_events_per_s", Stats.round(Stats.median(onRate), 1));
        r.put("guard_parallel_ratio", Stats.round(Stats.median(parallelRatios), 3));
        r.put("guard_reapply_off_ms", Stats.round(Stats.median(offSameMs), 3));
        r.put("guard_reapply_ms", Stats.round(Stats.median(onSameMs), 3));
        r.put("guard_reapply_ratio", Stats.round(Stats.median(sameRatios), 3));
        r.put("backend", off.backend);
        r.put("repetitions", Map.of("off_events_per_s", offRate, "guard_events_per_s", onRate,
                "parallel_ratios", parallelRatios));
        r.put("settings", Map.of("sandboxes", boxes.size(), "events_single_thread", events,
                "events_parallel", parallelEvents, "concurrency", concurrency, "warmup_events", warmup, "reps", reps,
                "endpoints_per_policy", EnforceBench.ENDPOINTS, "policies_per_sandbox", 2,
                "netfence", "DefaultEnforcer in the driver JVM, production wiring, --host-guard off vs required"));
        return r;
    }

    /**
     * {@code n} pairs of single-threaded applies, one of each contender on the same sandbox back
     * to back (which goes first alternates pair by pair), each timed; adds each apply's ms to
     * {@code offMs} and {@code onMs} and returns each pair's ratio (with guard / alone), so that
     * whatever else the machine does at a moment falls on both applies of a pair alike.
     */
    private static List<Double> pairs(Contender off, Contender on, int n, List<Double> offMs, List<Double> onMs) {
        List<Double> ratios = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int box = i % off.boxes.size();
            double a;
            double b;
            if (i % 2 == 0) {
                a = off.timed(box);
                b = on.timed(box);
            } else {
                b = on.timed(box);
                a = off.timed(box);
            }
            offMs.add(a);
            onMs.add(b);
            ratios.add(b / a);
        }
        return ratios;
    }

    /** One enforcer over the section's sandboxes, checking the guards every result reports. */
    private static final class Contender {
        private final DefaultEnforcer enforcer;
        private final List<Sandboxes.Sandbox> boxes;
        private final List<List<NetworkPolicy>> policies;
        private final List<String> expectedGuards;
        /** Applies so far per sandbox: which of its two policies comes next. */
        private final AtomicIntegerArray applied;
        private volatile String backend;
        /** When set, each sandbox gets the policy it holds already (an unchanged re-apply). */
        private volatile boolean unchanged;

        Contender(DefaultEnforcer enforcer, List<Sandboxes.Sandbox> boxes, List<List<NetworkPolicy>> policies,
                List<String> expectedGuards) {
            this.enforcer = enforcer;
            this.boxes = boxes;
            this.policies = policies;
            this.expectedGuards = expectedGuards;
            this.applied = new AtomicIntegerArray(boxes.size());
        }

        /** {@code n} applies round-robin over the sandboxes from {@code threads} threads; wall seconds. */
        double applies(int n, int threads) throws Exception {
            AtomicInteger next = new AtomicInteger();
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                List<Future<?>> done = new ArrayList<>();
                long start = System.nanoTime();
                for (int t = 0; t < threads; t++) {
                    done.add(pool.submit(() -> {
                        for (int e = next.getAndIncrement(); e < n; e = next.getAndIncrement()) {
                            apply(e % boxes.size());
                        }
                        return null;
                    }));
                }
                for (Future<?> f : done) {
                    f.get();
                }
                return (System.nanoTime() - start) / 1e9;
            } finally {
                pool.shutdownNow();
            }
        }

        /** One apply on sandbox {@code i}, wall ms. */
        double timed(int i) {
            long t0 = System.nanoTime();
            apply(i);
            return (System.nanoTime() - t0) / 1e6;
        }

        private void apply(int i) {
            Sandboxes.Sandbox box = boxes.get(i);
            int n = unchanged ? applied.get(i) : applied.incrementAndGet(i);
            EnforcementResult r = enforcer.enforce(new EnforcementRequest(box.containerId(), "podman", box.pid(),
                    policies.get(i).get(n % 2), Instant.now().plusSeconds(30)));
            if (!EnforcementResult.APPLIED.equals(r.status()) || !expectedGuards.equals(r.guards())) {
                throw new IllegalStateException("expected applied with guards " + expectedGuards + ", got " + r);
            }
            backend = r.backend();
        }
    }
}
