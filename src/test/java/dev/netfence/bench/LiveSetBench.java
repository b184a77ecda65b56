package dev.netfence.bench;

import dev.netfence.core.EnforcementResult;
import dev.netfence.core.EnforcementTarget;
import dev.netfence.core.ErrorCode;
import dev.netfence.enforce.DefaultEnforcer;
import dev.netfence.enforce.EnforcementRequest;
import dev.netfence.enforce.Enforcer;
import dev.netfence.enforce.EnforcerConfig;
import dev.netfence.event.Outcomes;
import dev.netfence.kafka.EventPipeline;
import dev.netfence.kafka.KafkaOutcomePublisher;
import dev.netfence.kafka.PipelineSettings;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.policy.store.ParsingPolicyDecoder;
import dev.netfence.policy.store.TopicPolicyStore;
import dev.netfence.reconcile.EnforcementsTopic;
import dev.netfence.reconcile.HostGuards;
import dev.netfence.reconcile.LiveSet;
import dev.netfence.reconcile.Reconciler;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Section liveset (issue 15 item 4, "memory stays flat over 100,000 start/stop cycles"). The
 * driver wires what {@code netfence run} wires for continuous enforcement, in its own JVM: the
 * {@link EventPipeline} reading a real events topic, the {@link TopicPolicyStore}, the
 * {@link Reconciler} with its {@link LiveSet}, the live set's journal on a real compacted
 * enforcements topic ({@link EnforcementsTopic}), outcomes through {@link KafkaOutcomePublisher}
 * and the Prometheus registry. Enforcement is the production {@link DefaultEnforcer} in dry-run
 * mode (nothing is written in any namespace: 100,000 real applies would take minutes), whose
 * applied result is given a made-up target (pid, namespace id) so that the live set records it
 * as it records a real one; {@code netfence run --dry-run} itself keeps no live set. Each cycle
 * is a {@code container.started} then a {@code container.stopped} of a new container. After a
 * warm-up (W cycles, enough to fill the bounded memory of stopped containers) the heap after a
 * full GC and the resident set (VmRSS) are taken, then N more cycles run and both are taken
 * again. Every outcome must be {@code applied} or {@code removed} and the live set must be empty
 * at the end.
 */
final class LiveSetBench {
    private final BenchArgs args;

    LiveSetBench(BenchArgs args) {
        this.args = args;
    }

    Map<String, Object> run() throws Exception {
        BenchKafka kafka = new BenchKafka(args.string("bootstrap"));
        int cycles = args.integer("cycles", 100_000);
        int warmup = args.integer("warmup", 10_000);
        int tasks = args.integer("tasks", 100);
        String id = UUID.randomUUID().toString().substring(0, 8);
        String node = "bench-live-" + id;
        String policiesTopic = "bench.live-policies-" + id;
        String events = "bench.live-events-" + id;
        String outcomes = "bench.live-outcomes-" + id;
        String enforcements = "bench.live-enforcements-" + id;
        kafka.createTopics(1, Map.of("cleanup.policy", "compact"), policiesTopic, enforcements);
        kafka.createTopics(1, Map.of(), events, outcomes, events + ".dlq");
        kafka.load(tasks, i -> new ProducerRecord<>(policiesTopic, task(i).getBytes(StandardCharsets.UTF_8),
                BenchData.policy(4, i).getBytes(StandardCharsets.UTF_8)));
        Map<String, Object> client = Map.of("bootstrap.servers", kafka.bootstrap());
        Clock clock = Clock.systemUTC();
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        String instance = node + "/" + ProcessHandle.current().pid();
        DefaultEnforcer dryRun = new DefaultEnforcer(EnforcerConfig.custom().dryRun(true).build(),
                new ProcessCommandRunner(), clock, registry);
        Enforcer enforcer = new RecordedAsApplied(dryRun);
        Map<String, Object> r = new LinkedHashMap<>();
        try (TopicPolicyStore policies = TopicPolicyStore.start(client, policiesTopic, new ParsingPolicyDecoder());
             EnforcementsTopic journal = new EnforcementsTopic(client, enforcements);
             KafkaOutcomePublisher publisher = new KafkaOutcomePublisher(client, outcomes, instance, node,
                     registry)) {
            LiveSet live = new LiveSet(journal, registry);
            Reconciler reconciler = new Reconciler(live, enforcer, policies, new Outcomes(clock, instance, "bench"),
                    publisher, HostGuards.NONE, clock, clock, registry, node, Duration.ofHours(1), 4, Duration.ofSeconds(30),
                    Path.of("/proc"));
            PipelineSettings settings = PipelineSettings.custom().kafka(client).nodeId(node).eventsTopic(events)
                    .outcomesTopic(outcomes).concurrency(8).instance(instance).version("bench").build();
            EventPipeline pipeline = new EventPipeline(settings, enforcer, dryRun::failClosed, policies, registry, clock,
                    reconciler);
            try {
                pipeline.start();
                reconciler.start();
                Instant t0 = Instant.now();
                load(kafka, events, node, 0, warmup, tasks);
                kafka.awaitRecords(outcomes, 2L * warmup, Duration.ofMinutes(5), false, () -> { });
                // the histogram first: it is alive at both measurements, so it weighs the same in both
                Map<String, long[]> histogramBefore = histogram();
                Memory before = Memory.take();
                int metersBefore = registry.getMeters().size();
                long start = System.nanoTime();
                java.util.concurrent.atomic.AtomicLong peakKb = new java.util.concurrent.atomic.AtomicLong();
                Thread sampler = new Thread(() -> {
                    try {
                        while (!Thread.currentThread().isInterrupted()) {
                            peakKb.accumulateAndGet(Memory.rssKb(), Math::max);
                            Thread.sleep(500);
                        }
                    } catch (InterruptedException | java.io.IOException e) {
                        // done
                    }
                }, "rss-sampler");
                sampler.setDaemon(true);
                sampler.start();
                load(kafka, events, node, warmup, cycles, tasks);
                // only the counts are kept: the outcome values must not be on the heap when it is measured
                Map<String, Integer> statuses = statuses(kafka.awaitRecords(outcomes, 2L * (warmup + cycles),
                        Duration.ofMinutes(10), true, () -> { }));
                double seconds = (System.nanoTime() - start) / 1e9;
                sampler.interrupt();
                if (statuses.getOrDefault("applied", 0) != warmup + cycles
                        || statuses.getOrDefault("removed", 0) != warmup + cycles) {
                    throw new IllegalStateException("expected " + (warmup + cycles) + " applied and as many removed "
                            + "outcomes, got " + statuses);
                }
                if (live.size() != 0) {
                    throw new IllegalStateException(live.size() + " containers are still in the live set after every "
                            + "one of them stopped");
                }
                journal.flush();
                Memory after = Memory.take();
                r.put("top_heap_growth", growth(histogramBefore, histogram(), 8));
                r.put("live_set_rss_mb", Stats.round(after.rssMb, 1));
                r.put("live_set_rss_before_mb", Stats.round(before.rssMb, 1));
                r.put("live_set_heap_mb", Stats.round(after.heapMb, 1));
                r.put("live_set_heap_before_mb", Stats.round(before.heapMb, 1));
                r.put("live_set_heap_growth_mb", Stats.round(after.heapMb - before.heapMb, 2));
                r.put("live_set_rss_growth_mb", Stats.round(after.rssMb - before.rssMb, 1));
                r.put("live_set_rss_peak_during_cycles_mb", Stats.round(peakKb.get() / 1024.0, 1));
                r.put("live_set_rss_at_gc_mb", Stats.round(after.rssAtGcMb, 1));
                r.put("live_set_rss_at_gc_before_mb", Stats.round(before.rssAtGcMb, 1));
                r.put("live_set_heap_committed_mb", Stats.round(after.heapCommittedMb, 1));
                r.put("live_set_heap_committed_before_mb", Stats.round(before.heapCommittedMb, 1));
                r.put("rss_settle_s", List.of(Stats.round(before.settleS, 1), Stats.round(after.settleS, 1)));
                r.put("live_containers_after", live.size());
                r.put("meters_before", metersBefore);
                r.put("meters_after", registry.getMeters().size());
                r.put("cycles_per_s", Stats.round(cycles / seconds, 1));
                r.put("outcome_statuses", statuses);
                r.put("warmup_s", Stats.round(Duration.between(t0, Instant.now()).toMillis() / 1000.0 - seconds, 1));
            } finally {
                pipeline.close();
                reconciler.close();
            }
        }
        r.put("settings", Map.of("cycles", cycles, "warmup_cycles", warmup, "tasks", tasks, "concurrency", 8,
                "enforcement", "DefaultEnforcer dry run, result given a made-up target so the live set records it",
                "memory", "heap used after System.gc() (G1 full GC), VmRSS of the driver JVM once settled after it; "
                        + "driver JVM options: " + ManagementFactory.getRuntimeMXBean().getInputArguments()));
        return r;
    }

    private static String task(int i) {
        return "lt-" + i;
    }

    /** Cycles {@code from .. from+n-1}: a started then a stopped event per container, keyed by node (one partition, in order). */
    private static void load(BenchKafka kafka, String topic, String node, int from, int n, int tasks) {
        Instant now = Instant.now();
        kafka.load(2 * n, k -> {
            int i = from + k / 2;
            String type = k % 2 == 0 ? "container.started" : "container.stopped";
            String json = "{\"schemaVersion\":1,\"type\":\"" + type + "\",\"eventId\":\"" + UUID.randomUUID()
                    + "\",\"occurredAt\":\"" + now + "\",\"nodeId\":\"" + node + "\",\"taskId\":\"" + task(i % tasks)
                    + "\",\"containerId\":\"lc-" + i + "\",\"runtime\":\"podman\",\"pid\":" + (3_000_000 + i % 1_000_000)
                    + "}";
            return new ProducerRecord<>(topic, node.getBytes(StandardCharsets.UTF_8),
                    json.getBytes(StandardCharsets.UTF_8));
        });
    }

    /** {@code jcmd PID GC.class_histogram} of this JVM (after its own full GC): class -> {instances, bytes}. */
    private static Map<String, long[]> histogram() throws Exception {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                Long.toString(ProcessHandle.current().pid()), "GC.class_histogram").redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("jcmd GC.class_histogram failed: " + text);
        }
        Map<String, long[]> out = new java.util.HashMap<>();
        for (String line : text.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 4 && f[0].endsWith(":")) {
                out.put(f[3], new long[] {Long.parseLong(f[1]), Long.parseLong(f[2])});
            }
        }
        return out;
    }

    /** The {@code k} classes whose bytes grew most between two histograms: class -> "+instances / +bytes". */
    private static Map<String, String> growth(Map<String, long[]> before, Map<String, long[]> after, int k) {
        Map<String, String> out = new LinkedHashMap<>();
        after.entrySet().stream()
                .sorted((a, b) -> Long.compare(b.getValue()[1] - before.getOrDefault(b.getKey(), new long[2])[1],
                        a.getValue()[1] - before.getOrDefault(a.getKey(), new long[2])[1]))
                .limit(k)
                .forEach(e -> {
                    long[] was = before.getOrDefault(e.getKey(), new long[2]);
                    out.put(e.getKey(), "+" + (e.getValue()[0] - was[0]) + " instances / +" + (e.getValue()[1] - was[1])
                            + " bytes");
                });
        return out;
    }

    private static Map<String, Integer> statuses(BenchKafka.Span span) throws Exception {
        Map<String, Integer> statuses = new LinkedHashMap<>();
        for (byte[] v : span.values()) {
            statuses.merge(Bench.JSON.readTree(v).path("status").asText(), 1, Integer::sum);
        }
        return statuses;
    }

    /**
     * Heap in use and committed after a full GC, and the resident set, in MB: right after the GC
     * ({@code rssAtGcMb}) and once it has settled ({@code rssMb}). G1 (JDK 17) shrinks the heap at
     * a full GC but hands the freed regions back to the kernel afterwards, on its service thread
     * (JDK-8236926), so VmRSS read at once still counts heap the JVM no longer holds: it is read
     * every 250 ms until it has not fallen by more than 1 MB for a second (at most 20 s).
     */
    private record Memory(double heapMb, double heapCommittedMb, double rssAtGcMb, double rssMb, double settleS) {
        static Memory take() throws Exception {
            for (int i = 0; i < 3; i++) {
                System.gc();
            }
            var heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
            long t0 = System.nanoTime();
            long first = rssKb();
            long last = first;
            long stableSince = t0;
            while (System.nanoTime() - t0 < 20_000_000_000L && System.nanoTime() - stableSince < 1_000_000_000L) {
                Thread.sleep(250);
                long now = rssKb();
                if (last - now > 1024) {
                    stableSince = System.nanoTime();
                }
                last = Math.min(last, now);
            }
            return new Memory(heap.getUsed() / 1024.0 / 1024.0, heap.getCommitted() / 1024.0 / 1024.0,
                    first / 1024.0, rssKb() / 1024.0, (System.nanoTime() - t0) / 1e9);
        }

        private static long rssKb() throws java.io.IOException {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
            return 0;
        }
    }

    /**
     * The dry run's applied result with a target, so that the live set records the container as
     * it records a real enforcement (it keeps nothing for a result without one); everything else
     * is the dry-run enforcer's own.
     */
    private record RecordedAsApplied(DefaultEnforcer dryRun) implements Enforcer {
        @Override
        public EnforcementResult enforce(EnforcementRequest request) {
            EnforcementResult result = dryRun.enforce(request);
            if (!EnforcementResult.APPLIED.equals(result.status()) || request.pid() == null) {
                return result;
            }
            return result.toBuilder().backend("nft")
                    .target(new EnforcementTarget(request.pid(), 4, 4_026_531_840L + request.pid())).build();
        }

        @Override
        public EnforcementResult failClosed(String containerId, String runtime, Integer pid, Path netns, ErrorCode code,
                String message) {
            return dryRun.failClosed(containerId, runtime, pid, netns, code, message);
        }
    }
}
