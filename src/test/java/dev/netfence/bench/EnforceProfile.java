package dev.netfence.bench;

import dev.netfence.core.EnforcementResult;
import dev.netfence.enforce.DefaultEnforcer;
import dev.netfence.enforce.EnforcementRequest;
import dev.netfence.enforce.EnforcerConfig;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.nft.InProcessNft;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
import dev.netfence.rules.PlannedRules;
import dev.netfence.rules.RulePlanner;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A development tool, not a section of {@code scripts/bench.sh}: separates the cost of netfence's
 * enforcer from the nft floor without Kafka. Over the bench's sandboxes, from the same number of
 * threads, it alternates rounds of (a) the floor's loop ({@link EnforceBench#nftFloor}'s calls)
 * and (b) {@link DefaultEnforcer#enforce} with the production wiring (pinning, cgroup check,
 * containment checks, owner claim, planning from the cache, the same trip, no host guard),
 * printing events per second and the process's CPU milliseconds per event for each round, so
 * the two can be compared side by side on a shared machine. Usage:
 * {@code Bench enforce-profile --sandboxes FILE --events N --concurrency C --rounds R [--cgroup-check false]}.
 */
final class EnforceProfile {
    private final BenchArgs args;

    EnforceProfile(BenchArgs args) {
        this.args = args;
    }

    public static void main(String[] argv) throws Exception {
        System.out.println(Bench.JSON.writeValueAsString(new EnforceProfile(new BenchArgs(argv, 0)).run()));
        System.exit(0);
    }

    Map<String, Object> run() throws Exception {
        Sandboxes boxes = Sandboxes.read(args.path("sandboxes"));
        int n = args.integer("events", 1000);
        int concurrency = args.integer("concurrency", 8);
        int rounds = args.integer("rounds", 3);
        RulePlanner planner = new RulePlanner();
        PolicyParser parser = new PolicyParser();
        List<NetworkPolicy> policies = new ArrayList<>();
        List<PlannedRules> plans = new ArrayList<>();
        List<PinnedNamespace> pins = new ArrayList<>();
        for (int i = 0; i < boxes.all().size(); i++) {
            Sandboxes.Sandbox box = boxes.all().get(i);
            NetworkPolicy policy = parser.parse(BenchData.policy(EnforceBench.ENDPOINTS, i).getBytes(StandardCharsets.UTF_8));
            policies.add(policy);
            plans.add(planner.plan(policy, Map.of(), List.of()));
            Path path = Path.of(box.netnsPath());
            pins.add(new PinnedNamespace(box.pid(), path, NamespaceId.of(path), () -> { }));
        }
        InProcessNft nft = InProcessNft.shared(8);
        EnforcerConfig config = EnforcerConfig.custom().backend(BackendChoice.parse("nft"))
                .cgroupCheck(Boolean.parseBoolean(args.string("cgroup-check", "true"))).build();
        DefaultEnforcer enforcer = new DefaultEnforcer(config, new ProcessCommandRunner(), Clock.systemUTC(),
                new SimpleMeterRegistry());
        Map<String, Object> r = new LinkedHashMap<>();
        for (int round = 0; round <= rounds; round++) { // round 0 warms up both
            double[] floor = timed(n, concurrency, i -> nft.apply(pins.get(i), plans.get(i), true,
                    Instant.now().plusSeconds(60), new AtomicBoolean()), pins.size());
            double[] enforce = timed(n, concurrency, i -> {
                Sandboxes.Sandbox box = boxes.all().get(i);
                EnforcementResult result = enforcer.enforce(new EnforcementRequest(box.containerId(), null, box.pid(),
                        policies.get(i), Instant.now().plusSeconds(60)));
                if (!"applied".equals(result.status())) {
                    throw new IllegalStateException("not applied: " + result);
                }
            }, pins.size());
            System.err.printf("round %d: floor %.1f ev/s %.2f ms CPU/ev | enforcer %.1f ev/s %.2f ms CPU/ev%n", round,
                    floor[0], floor[1], enforce[0], enforce[1]);
            if (round > 0) {
                r.put("round_" + round, Map.of("floor_events_per_s", floor[0], "floor_cpu_ms_per_event", floor[1],
                        "enforcer_events_per_s", enforce[0], "enforcer_cpu_ms_per_event", enforce[1]));
            }
        }
        return r;
    }

    interface Step {
        void run(int sandbox) throws Exception;
    }

    /** Events per second and process CPU ms per event of {@code n} steps from {@code concurrency} threads. */
    private static double[] timed(int n, int concurrency, Step step, int sandboxes) throws Exception {
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        AtomicInteger next = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(concurrency);
        try {
            List<Future<?>> done = new ArrayList<>();
            long cpu0 = os.getProcessCpuTime();
            long start = System.nanoTime();
            for (int t = 0; t < concurrency; t++) {
                done.add(pool.submit(() -> {
                    for (int e = next.getAndIncrement(); e < n; e = next.getAndIncrement()) {
                        step.run(e % sandboxes);
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            double cpuMs = (os.getProcessCpuTime() - cpu0) / 1e6;
            return new double[] {n / seconds, cpuMs / n};
        } finally {
            pool.shutdownNow();
        }
    }
}
