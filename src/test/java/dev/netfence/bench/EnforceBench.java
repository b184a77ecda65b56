package dev.netfence.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.netfence.iptables.RestoreRenderer;
import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.nft.InProcessNft;
import dev.netfence.policy.Family;
import dev.netfence.policy.PolicyParser;
import dev.netfence.rules.PlannedRules;
import dev.netfence.rules.RulePlanner;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Section 2, enforcement. {@code prepare} writes, per sandbox, the policy netfence will read
 * ({@code --policy-dir}) and the exact restore inputs netfence renders for it (steady state:
 * owned chains rewritten, hooks in place), plus the job list of the floor: one
 * {@code --net=NS iptables-restore --noflush --wait=5 FILE} line per family per event, which the
 * script feeds to {@code xargs -P N nsenter}. {@code run} measures netfence end to end from
 * Kafka: N events over the sandboxes, real application, every outcome must be {@code applied}.
 */
final class EnforceBench {
    static final int ENDPOINTS = 10;
    private final BenchArgs args;
    private final Path out;

    EnforceBench(BenchArgs args) {
        this.args = args;
        this.out = args.path("out");
    }

    static String taskOf(int sandbox) {
        return "bench-task-" + sandbox;
    }

    Map<String, Object> prepare() throws Exception {
        Sandboxes boxes = Sandboxes.read(args.path("sandboxes"));
        int n = args.integer("events", 3000);
        Path dir = out.resolve("enforce");
        Path policies = dir.resolve("policies");
        Files.createDirectories(policies);
        RulePlanner planner = new RulePlanner();
        RestoreRenderer renderer = new RestoreRenderer();
        PolicyParser parser = new PolicyParser();
        List<String> inputs = new ArrayList<>();
        for (int i = 0; i < boxes.all().size(); i++) {
            Sandboxes.Sandbox box = boxes.all().get(i);
            String json = BenchData.policy(ENDPOINTS, i);
            Files.writeString(policies.resolve(taskOf(i) + ".json"), json, StandardCharsets.UTF_8);
            PlannedRules plan = planner.plan(parser.parse(json.getBytes(StandardCharsets.UTF_8)), Map.of(),
                    List.of()); // netfence in the bench trusts no resolver (no --dns-servers): no DNS rule either side
            for (Family f : List.of(Family.IPV4, Family.IPV6)) {
                Path file = dir.resolve("restore-" + i + "-" + f.wire() + ".txt");
                Files.writeString(file, renderer.render(plan.forFamily(f), false), StandardCharsets.UTF_8);
                String binary = f == Family.IPV4 ? "iptables-restore" : "ip6tables-restore";
                inputs.add("--net=" + box.netnsPath() + " " + binary + " --noflush --wait=5 " + file);
            }
        }
        List<String> jobs = new ArrayList<>();
        for (int e = 0; e < n; e++) {
            int i = e % boxes.all().size();
            jobs.add(inputs.get(2 * i));
            jobs.add(inputs.get(2 * i + 1));
        }
        Files.write(dir.resolve("floor-jobs.txt"), jobs, StandardCharsets.UTF_8);
        return Map.of("events", n, "sandboxes", boxes.all().size(), "restore_processes", jobs.size());
    }

    Map<String, Object> run() throws Exception {
        Sandboxes boxes = Sandboxes.read(args.path("sandboxes"));
        BenchKafka kafka = new BenchKafka(args.string("bootstrap"));
        int n = args.integer("events", 3000);
        int reps = args.integer("reps", 3);
        int concurrency = args.integer("concurrency", 8);
        int floorEvents = args.integer("floor-events", n);
        List<Double> floor = new ArrayList<>();
        for (String line : Files.readAllLines(args.path("floor-times"))) {
            if (!line.isBlank()) {
                floor.add(floorEvents / Double.parseDouble(line.trim()));
            }
        }
        List<Double> nftFloor = new ArrayList<>();
        List<Double> floorCpu = new ArrayList<>();
        // both contenders are measured in steady state, after the same number of untimed events (as the
        // pipeline section does): netfence's first events pay its JIT (C1) and first trips into each
        // namespace, the floor's its JIT in the driver; the whole-run rate is recorded beside
        int warmup = args.integer("warmup-events", n / 4);
        for (int rep = 0; rep < Math.max(1, args.integer("floor-reps", 1)); rep++) {
            double[] f = nftFloorWithCpu(boxes, n, concurrency, warmup);
            nftFloor.add(f[0]);
            floorCpu.add(f[1]);
            System.err.printf("enforce rep %d: nft floor %.1f/s, %.2f ms CPU/event%n", rep + 1, f[0], f[1]);
        }
        List<Double> netfence = new ArrayList<>();
        List<Double> netfenceWholeRun = new ArrayList<>();
        List<Double> netfenceCpu = new ArrayList<>();
        Map<String, Integer> statuses = new TreeMap<>();
        int netfenceReps = Math.min(reps, args.integer("netfence-reps", reps));
        for (int rep = 0; rep < netfenceReps; rep++) {
            String id = UUID.randomUUID().toString().substring(0, 8);
            double[] cpu = new double[1];
            BenchKafka.Span span = runOnce(kafka, boxes, id, n, warmup, concurrency, statuses, args, out, cpu);
            netfence.add(span.rateOfLast(n));
            netfenceWholeRun.add(span.ratePerSecond());
            netfenceCpu.add(cpu[0]);
            System.err.printf("enforce rep %d: netfence %.1f/s after %d warm-up events (whole run %.1f/s), %.2f ms CPU/event%n",
                    rep + 1, span.rateOfLast(n), warmup, span.ratePerSecond(), cpu[0]);
        }
        Map<String, Object> r = new LinkedHashMap<>();
        double a = Stats.median(floor);
        double b = Stats.median(netfence);
        double c = Stats.median(nftFloor);
        r.put("floor_events_per_s", Stats.round(a, 1));
        r.put("process_floor_events_per_s", Stats.round(a, 1));
        r.put("nft_floor_events_per_s", Stats.round(c, 1));
        r.put("netfence_events_per_s", Stats.round(b, 1));
        r.put("netfence_events_per_s_whole_run", Stats.round(Stats.median(netfenceWholeRun), 1));
        r.put("enforce_ratio", Stats.round(b / a, 3));
        r.put("nft_ratio", Stats.round(b / c, 3));
        r.put("nft_vs_process_floor", Stats.round(b / a, 3));
        // CPU per event in the rate's window (a diagnostic: it depends far less on the machine's other load than a rate):
        // the floor's is the driver JVM's, netfence's its own JVM's (the broker's share is in neither)
        r.put("nft_floor_cpu_ms_per_event", Stats.round(Stats.median(floorCpu), 2));
        r.put("netfence_cpu_ms_per_event", Stats.round(Stats.median(netfenceCpu), 2));
        r.put("backend", args.string("backend", "nft"));
        r.put("repetitions", Map.of("floor", floor, "nft_floor", nftFloor, "netfence", netfence,
                "netfence_whole_run", netfenceWholeRun));
        r.put("outcome_statuses", statuses);
        r.put("settings", Map.of("events", n, "floor_events", floorEvents, "sandboxes", boxes.all().size(), "parallelism", concurrency,
                "endpoints_per_policy", ENDPOINTS, "reps", reps, "netfence_reps", netfenceReps, "warmup_events", warmup));
        return r;
    }

    /**
     * The in-process nft floor: the same library calls netfence's nft backend makes per event
     * (one namespace trip: fresh context, the table transaction, the read-back of the table over
     * netlink and its comparison with the plan's as learnt, the conntrack flush), {@code n} events over the sandboxes from
     * {@code concurrency} threads, no Kafka, no pinning, no outcome, after one untimed apply per
     * sandbox. Events per second.
     */
    static double nftFloor(Sandboxes boxes, int n, int concurrency) throws Exception {
        return nftFloorWithCpu(boxes, n, concurrency, 0)[0];
    }

    /**
     * {@link #nftFloor} after {@code warmup} untimed events the same way (beyond the one apply per
     * sandbox), and the driver process's CPU milliseconds per event during the timed loop.
     */
    static double[] nftFloorWithCpu(Sandboxes boxes, int n, int concurrency, int warmup) throws Exception {
        RulePlanner planner = new RulePlanner();
        PolicyParser parser = new PolicyParser();
        List<PlannedRules> plans = new ArrayList<>();
        List<PinnedNamespace> pins = new ArrayList<>();
        for (int i = 0; i < boxes.all().size(); i++) {
            Sandboxes.Sandbox box = boxes.all().get(i);
            plans.add(planner.plan(parser.parse(BenchData.policy(ENDPOINTS, i).getBytes(StandardCharsets.UTF_8)),
                    Map.of(), List.of())); // as netfence without --dns-servers
            Path path = Path.of(box.netnsPath());
            pins.add(new PinnedNamespace(box.pid(), path, NamespaceId.of(path), () -> { }));
        }
        InProcessNft nft = InProcessNft.shared(8);
        for (int i = 0; i < pins.size(); i++) { // warm-up, not timed: first calls through JNA, first tables
            nft.apply(pins.get(i), plans.get(i), true, Instant.now().plusSeconds(60), new AtomicBoolean());
        }
        ExecutorService pool = Executors.newFixedThreadPool(concurrency);
        try {
            loop(nft, pins, plans, warmup, concurrency, pool);
            var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                    .getOperatingSystemMXBean();
            long cpu0 = os.getProcessCpuTime();
            long start = System.nanoTime();
            loop(nft, pins, plans, n, concurrency, pool);
            double seconds = (System.nanoTime() - start) / 1e9;
            return new double[] {n / seconds, (os.getProcessCpuTime() - cpu0) / 1e6 / n};
        } finally {
            pool.shutdownNow();
        }
    }

    /** {@code n} applies over the sandboxes in turn from {@code concurrency} threads of {@code pool}. */
    private static void loop(InProcessNft nft, List<PinnedNamespace> pins, List<PlannedRules> plans, int n,
            int concurrency, ExecutorService pool) throws Exception {
        AtomicInteger next = new AtomicInteger();
        List<Future<?>> done = new ArrayList<>();
        for (int t = 0; t < concurrency; t++) {
            done.add(pool.submit(() -> {
                for (int e = next.getAndIncrement(); e < n; e = next.getAndIncrement()) {
                    int i = e % pins.size();
                    applyRetryingVerify(nft, pins.get(i), plans.get(i));
                }
                return null;
            }));
        }
        for (Future<?> f : done) {
            f.get();
        }
    }

    /**
     * One apply of the floor, made again when its read-back differed (VERIFY_FAILED, retryable: the
     * floor's threads do not take turns per namespace as netfence's writes do, so another thread's
     * commit can interleave with a chain listing), up to 5 times in all, as the enforcer retries.
     */
    private static void applyRetryingVerify(InProcessNft nft, PinnedNamespace pin, PlannedRules plan) {
        for (int attempt = 1; ; attempt++) {
            try {
                nft.apply(pin, plan, true, Instant.now().plusSeconds(60), new AtomicBoolean());
                return;
            } catch (dev.netfence.core.EnforcementException e) {
                if (e.code() != dev.netfence.core.ErrorCode.VERIFY_FAILED || attempt == 5) {
                    throw e;
                }
            }
        }
    }

    /** One netfence run over {@code n} events; fails unless every outcome is {@code applied}. */
    static BenchKafka.Span runOnce(BenchKafka kafka, Sandboxes boxes, String id, int n, int concurrency,
            Map<String, Integer> statuses, BenchArgs args, Path out) throws Exception {
        return runOnce(kafka, boxes, id, n, 0, concurrency, statuses, args, out, new double[1]);
    }

    /**
     * {@link #runOnce} over {@code warmup + n} events, also setting {@code cpuPerEvent[0]}: netfence's
     * CPU ms per event over the last {@code measured} outcomes (from the first measured outcome to the last).
     */
    static BenchKafka.Span runOnce(BenchKafka kafka, Sandboxes boxes, String id, int measured, int warmup,
            int concurrency, Map<String, Integer> statuses, BenchArgs args, Path out, double[] cpuPerEvent)
            throws Exception {
        int n = warmup + measured;
        String node = "bench-" + id;
        String events = "bench.enforce-events-" + id;
        String outcomes = "bench.enforce-outcomes-" + id;
        kafka.createTopics(1, Map.of(), events, outcomes);
        Instant now = Instant.now();
        kafka.load(n, i -> {
            Sandboxes.Sandbox box = boxes.forEvent(i);
            return BenchData.eventRecord(events, node, taskOf(i % boxes.all().size()), box.containerId(), box.pid(), now);
        });
        try (NetfenceProcess nf = NetfenceProcess.start(args.path("root"), out.resolve("netfence-enforce-" + id + ".log"),
                args.string("java-opts", ""), flags(kafka, node, events, outcomes, concurrency, out, args))) {
            CpuSampler cpu = new CpuSampler(nf.pid());
            kafka.awaitEndOffsets(outcomes, n, Duration.ofMinutes(5), () -> {
                nf.checkAlive();
                cpu.sample();
            });
            cpu.sample();
            BenchKafka.Span span = kafka.awaitRecords(outcomes, n, Duration.ofMinutes(1), true, nf::checkAlive);
            count(span, statuses);
            long from = span.sortedMs()[Math.max(0, span.sortedMs().length - measured)];
            cpuPerEvent[0] = cpu.cpuMsBetween(from, span.lastMs()) / Math.max(1, measured - 1);
            return span;
        }
    }

    /** {@code --cgroup-check false} only when bench.sh found no writable cgroup hierarchy for the sandboxes. */
    static List<String> flags(BenchKafka kafka, String node, String events, String outcomes, int concurrency, Path out,
            BenchArgs args) {
        List<String> flags = new ArrayList<>(List.of("--bootstrap-servers", kafka.bootstrap(), "--node-id", node,
                "--policy-dir", out.resolve("enforce/policies").toString(), "--events-topic", events,
                "--outcomes-topic", outcomes, "--concurrency", Integer.toString(concurrency), "--http-port", "0",
                "--cgroup-check", args.string("cgroup-check", "true"), "--backend", args.string("backend", "nft")));
        // profiling by hand only (bench.sh passes BENCH_NETFENCE_FLAGS): e.g. --netfence-flags "--host-guard off"
        String extra = args.string("netfence-flags", "").trim();
        if (!extra.isEmpty()) {
            flags.addAll(List.of(extra.split("\\s+")));
        }
        return flags;
    }

    static void count(BenchKafka.Span span, Map<String, Integer> statuses) throws Exception {
        int bad = 0;
        String example = null;
        for (byte[] v : span.values()) {
            JsonNode o = Bench.JSON.readTree(v);
            String status = o.path("status").asText();
            statuses.merge(status, 1, Integer::sum);
            if (!"applied".equals(status)) {
                bad++;
                example = o.toString();
            }
        }
        if (bad > 0) {
            throw new IllegalStateException(bad + " outcomes were not applied, e.g. " + example);
        }
    }
}
