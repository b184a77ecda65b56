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
 * {@code guards: ["netns","host"]}). After an untimed warm-up, each repetition times both, in
 * alternating order: single-threaded (figure: ms per apply) and from {@code --concurrency}
 * threads (figure: applies per second; the guard's host-table writes take turns under one lock,
 * which a single thread does not show). The warm-up (25 applies per sandbox, single-threaded and
 * then from the threads, each contender) lets the JIT finish before anything is timed. Each sandbox's applies alternate between two policies
 * (same size, different endpoints), so every apply changes the rules and every guarded apply
 * writes its host chain, as for a new container or a policy update: a re-apply of unchanged rules
 * is only read back and compared (HostGuards), which would flatter the figure. Figures:
 * guard_ratio = with guard / alone per apply, guard_parallel_ratio = alone / with guard in applies
 * per second (goal for both: at most 1.5). The unchanged re-apply (a replayed event; what a resync
 * does) is timed apart, single-threaded: guard_reapply_ms and guard_reapply_ratio.
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
        // 40 warm-up applies left the JIT compiling through the first repetitions (C1/C2 threads a fifth
        // of the CPU samples of the section); the guard's code path is the longer, so it paid more
        int warmup = args.integer("warmup", 25 * boxes.size());
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
        try {
            // not timed: JNA, namespace threads, JIT, the first table and chain; single-threaded and in parallel
            for (Contender c : List.of(off, on)) {
                c.applies(warmup, 1);
                c.applies(warmup, concurrency);
            }
            for (int rep = 0; rep < reps; rep++) {
                boolean offFirst = rep % 2 == 0;
                for (Contender c : offFirst ? List.of(off, on) : List.of(on, off)) {
                    (c == off ? offMs : onMs).add(c.applies(events, 1) * 1000.0 / events);
                }
                for (Contender c : offFirst ? List.of(off, on) : List.of(on, off)) {
                    (c == off ? offRate : onRate).add(parallelEvents / c.applies(parallelEvents, concurrency));
                }
                for (Contender c : offFirst ? List.of(off, on) : List.of(on, off)) {
                    c.unchanged = true;
                    (c == off ? offSameMs : onSameMs).add(c.applies(events, 1) * 1000.0 / events);
                    c.unchanged = false;
                }
                System.err.printf("guard rep %d: alone %.2f ms/apply, with guard %.2f ms/apply; from %d threads "
                        + "alone %.1f/s, with guard %.1f/s; unchanged re-apply alone %.2f ms, with guard %.2f ms%n",
                        rep + 1, offMs.get(rep), onMs.get(rep), concurrency, offRate.get(rep), onRate.get(rep),
                        offSameMs.get(rep), onSameMs.get(rep));
            }
        } finally {
            for (Sandboxes.Sandbox box : boxes) {
                guards.release(GuardChain.ownerOf(box.containerId(), box.pid()));
            }
        }
        if (guards.count() != 0) {
            throw new IllegalStateException("host guards left after release: " + guards.installed().keySet());
        }
        double a = Stats.median(offMs);
        double b = Stats.median(onMs);
        double c = Stats.median(offRate);
        double d = Stats.median(onRate);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("guard_off_apply_ms", Stats.round(a, 3));
        r.put("guard_apply_ms", Stats.round(b, 3));
        r.put("guard_ratio", Stats.round(b / a, 3));
        r.put("guard_off_events_per_s", Stats.round(c, 1));
        r.put("guard_events_per_s", Stats.round(d, 1));
        r.put("guard_parallel_ratio", Stats.round(c / d, 3));
        double e = Stats.median(offSameMs);
        double f = Stats.median(onSameMs);
        r.put("guard_reapply_off_ms", Stats.round(e, 3));
        r.put("guard_reapply_ms", Stats.round(f, 3));
        r.put("guard_reapply_ratio", Stats.round(f / e, 3));
        r.put("backend", off.backend);
        r.put("repetitions", Map.of("off_ms", offMs, "guard_ms", onMs, "off_events_per_s", offRate,
                "guard_events_per_s", onRate, "reapply_off_ms", offSameMs, "reapply_guard_ms", onSameMs));
        r.put("settings", Map.of("sandboxes", boxes.size(), "events_single_thread", events,
                "events_parallel", parallelEvents, "concurrency", concurrency, "warmup_events", warmup, "reps", reps,
                "endpoints_per_policy", EnforceBench.ENDPOINTS, "policies_per_sandbox", 2,
                "netfence", "DefaultEnforcer in the driver JVM, production wiring, --host-guard off vs required"));
        return r;
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
