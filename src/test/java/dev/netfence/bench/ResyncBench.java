package dev.netfence.bench;

import dev.netfence.core.EnforcementResult;
import dev.netfence.enforce.DefaultEnforcer;
import dev.netfence.enforce.EnforcementRequest;
import dev.netfence.enforce.EnforcerConfig;
import dev.netfence.event.ContainerEvent;
import dev.netfence.event.Outcome;
import dev.netfence.event.Outcomes;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.ContainerPidLookup;
import dev.netfence.netns.ProcNamespacePinner;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
import dev.netfence.policy.store.DirectoryPolicyStore;
import dev.netfence.policy.store.ParsingPolicyDecoder;
import dev.netfence.reconcile.HostGuards;
import dev.netfence.reconcile.LiveContainer;
import dev.netfence.reconcile.LiveSet;
import dev.netfence.reconcile.LiveSetJournal;
import dev.netfence.reconcile.Reconciler;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Section resync (issue 15 item 3): what one resync costs per live container with the nft
 * backend, measured on netfence's own code path. The driver builds the service's pieces as
 * {@code netfence run} wires them (the production {@link DefaultEnforcer} with {@code --backend
 * nft} and the /proc pinner with the cgroup check, a {@link DirectoryPolicyStore}, the
 * {@link LiveSet} and the {@link Reconciler} with its 4 correction threads), enforces one policy
 * per sandbox through {@link Reconciler#started} as the pipeline does, then times
 * {@link Reconciler#resyncNow()}: for every live container, is its pid still in its namespace,
 * the policy looked up, hostnames re-resolved, the table read back over netlink and compared with
 * the plan. The figure is process CPU time (user + system, so the kernel's netlink work is in it)
 * per container per resync; the wall time of a whole pass says whether a 1 s interval keeps up.
 * Policies have 8 literal endpoints and 2 hostnames, resolved by an in-memory resolver (the DNS
 * round trip is the resolver's, not netfence's; the JDK caches it 30 s anyway). The journal is an
 * in-memory one: a resync that finds nothing writes nothing to it. The steady state must find no
 * drift; then the netfence table is deleted in a few namespaces from outside and one more resync
 * must repair exactly those, so the timed passes are known to compare what they read.
 */
final class ResyncBench {
    static final int LITERALS = 8;
    static final int HOSTNAMES = 2;
    private final BenchArgs args;

    ResyncBench(BenchArgs args) {
        this.args = args;
    }

    Map<String, Object> run() throws Exception {
        Sandboxes boxes = Sandboxes.read(args.path("sandboxes"));
        int n = boxes.all().size();
        int reps = args.integer("reps", 5);
        int threads = args.integer("threads", 4);
        int flushed = Math.min(args.integer("drift", 10), n);
        boolean cgroupCheck = Boolean.parseBoolean(args.string("cgroup-check", "true"));
        Path dir = Files.createDirectories(args.path("out").resolve("resync/policies"));
        PolicyParser parser = new PolicyParser();
        List<NetworkPolicy> policies = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String json = policy(i);
            Files.writeString(dir.resolve(taskOf(i) + ".json"), json, StandardCharsets.UTF_8);
            policies.add(parser.parse(json.getBytes(StandardCharsets.UTF_8)));
        }
        Clock clock = Clock.systemUTC();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        ProcessCommandRunner runner = new ProcessCommandRunner();
        EnforcerConfig config = EnforcerConfig.custom().backend(BackendChoice.NFT).cgroupCheck(cgroupCheck).build();
        DefaultEnforcer enforcer = new DefaultEnforcer(config, runner, clock, registry, ResyncBench::resolve,
                new ProcNamespacePinner(new ContainerPidLookup(runner, clock), config.procRoot(), config.cgroupCheck()));
        AtomicInteger journalWrites = new AtomicInteger();
        LiveSet live = new LiveSet(new LiveSetJournal() {
            @Override
            public void record(LiveContainer c) {
                journalWrites.incrementAndGet();
            }

            @Override
            public void remove(String containerId) {
                journalWrites.incrementAndGet();
            }
        }, registry);
        List<Outcome> published = new CopyOnWriteArrayList<>();
        String node = "bench-resync-" + UUID.randomUUID().toString().substring(0, 8);
        Map<String, Object> r = new LinkedHashMap<>();
        Outcomes outcomes = new Outcomes(clock, node + "/1", "bench");
        try (DirectoryPolicyStore store = DirectoryPolicyStore.open(dir, new ParsingPolicyDecoder(), Duration.ofMinutes(10));
             Reconciler reconciler = new Reconciler(live, enforcer, store, outcomes,
                     published::add, HostGuards.NONE, clock, clock, registry, node, Duration.ofHours(1), threads,
                     Duration.ofSeconds(30), config.procRoot())) {
            long t0 = System.nanoTime();
            enforceAll(reconciler, enforcer, outcomes, boxes, policies, node);
            double enforceS = (System.nanoTime() - t0) / 1e9;
            if (live.size() != n) {
                throw new IllegalStateException("live set holds " + live.size() + " of " + n + " containers");
            }
            reconciler.resyncNow(); // warm-up pass, not timed: JIT, first read-backs
            expectSteady(published, registry, live, n, "the warm-up resync");
            dev.netfence.nft.InProcessNft nft = dev.netfence.nft.InProcessNft.shared(1); // the one the enforcer uses
            long fullBefore = nft.fullReadBacks();
            long skippedBefore = nft.skippedReadBacks();
            var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
            List<Double> cpuMs = new ArrayList<>();
            List<Double> wallMs = new ArrayList<>();
            for (int rep = 0; rep < reps; rep++) {
                long cpu = os.getProcessCpuTime();
                long wall = System.nanoTime();
                reconciler.resyncNow();
                wallMs.add((System.nanoTime() - wall) / 1e6);
                cpuMs.add((os.getProcessCpuTime() - cpu) / 1e6);
                expectSteady(published, registry, live, n, "timed resync " + (rep + 1));
                System.err.printf("resync rep %d: %d containers, wall %.1f ms, cpu %.1f ms%n", rep + 1, n,
                        wallMs.get(rep), cpuMs.get(rep));
            }
            long fullTimed = nft.fullReadBacks() - fullBefore;
            long skippedTimed = nft.skippedReadBacks() - skippedBefore;
            Map<String, Object> drift = driftCheck(reconciler, boxes, flushed, published, registry, live, n);
            double cpu = Stats.median(cpuMs);
            double wall = Stats.median(wallMs);
            r.put("resync_us_per_container", Stats.round(cpu * 1000 / n, 1));
            r.put("resync_wall_ms", Stats.round(wall, 1));
            r.put("resync_core_fraction_at_1s", Stats.round(cpu / 1000, 3));
            r.put("resync_wall_us_per_container", Stats.round(wall * 1000 / n, 1));
            r.put("containers", n);
            r.put("repetitions", Map.of("cpu_ms", cpuMs, "wall_ms", wallMs));
            r.put("drift_check", drift);
            r.put("timed_read_backs", Map.of("full", fullTimed, "skipped_generation_unchanged", skippedTimed));
            r.put("initial_enforce_s", Stats.round(enforceS, 1));
            r.put("journal_writes", journalWrites.get());
            r.put("settings", Map.of("containers", n, "reps", reps, "threads", threads, "backend", "nft",
                    "cgroup_check", cgroupCheck, "literal_endpoints", LITERALS, "hostname_endpoints", HOSTNAMES,
                    "cpu", "process CPU time (user+system) of the driver JVM during resyncNow(), median of reps"));
        }
        return r;
    }

    /**
     * One start per sandbox, through the reconciler as the pipeline's workers do (8 at a time), and
     * its outcome reported as out ({@link Reconciler#published}), as the pipeline does once the
     * outcome is acknowledged: the reconciler holds its own outcomes of a container until then.
     */
    private static void enforceAll(Reconciler reconciler, DefaultEnforcer enforcer, Outcomes outcomes,
            Sandboxes boxes, List<NetworkPolicy> policies, String node) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        Map<String, Integer> statuses = new TreeMap<>();
        String example = null;
        try {
            List<Future<EnforcementResult>> results = new ArrayList<>();
            for (int i = 0; i < boxes.all().size(); i++) {
                Sandboxes.Sandbox box = boxes.all().get(i);
                NetworkPolicy policy = policies.get(i);
                String task = taskOf(i);
                results.add(pool.submit(() -> {
                    Instant now = Instant.now();
                    ContainerEvent event = new ContainerEvent(1, "container.started", UUID.randomUUID().toString(),
                            now, node, task, box.containerId(), "podman", box.pid());
                    EnforcementRequest request = new EnforcementRequest(box.containerId(), "podman", box.pid(), policy,
                            now.plusSeconds(60));
                    EnforcementResult result = reconciler.started(event, () -> enforcer.enforce(request));
                    reconciler.published(outcomes.of(event, result, false));
                    return result;
                }));
            }
            for (Future<EnforcementResult> f : results) {
                EnforcementResult result = f.get();
                statuses.merge(result.status(), 1, Integer::sum);
                if (!EnforcementResult.APPLIED.equals(result.status())) {
                    example = result.status() + " " + result.error();
                }
            }
        } finally {
            pool.shutdownNow();
            pool.awaitTermination(30, TimeUnit.SECONDS);
        }
        if (example != null) {
            throw new IllegalStateException("not every sandbox was enforced: " + statuses + ", e.g. " + example);
        }
    }

    /**
     * Deletes the netfence table in {@code k} namespaces from outside (as an admin or a workload
     * with CAP_NET_ADMIN could) and runs one resync: exactly those must be repaired (drift
     * outcomes and the repair counter), and nothing else may change.
     */
    private static Map<String, Object> driftCheck(Reconciler reconciler, Sandboxes boxes, int k,
            List<Outcome> published, SimpleMeterRegistry registry, LiveSet live, int n) throws Exception {
        for (int i = 0; i < k; i++) {
            Sandboxes.Sandbox box = boxes.all().get(i * boxes.all().size() / k);
            Process p = new ProcessBuilder("nsenter", "--net=" + box.netnsPath(), "nft", "delete", "table", "inet",
                    "netfence").redirectErrorStream(true).start();
            String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("could not delete the netfence table in " + box.netns() + ": " + text);
            }
        }
        long cpu = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
        reconciler.resyncNow();
        long drifts = published.stream().filter(o -> "drift".equals(o.trigger()) && "applied".equals(o.status())).count();
        double repairs = repairs(registry);
        if (drifts != k || repairs != k || published.size() != k || live.size() != n) {
            throw new IllegalStateException("after deleting the table in " + k + " namespaces one resync published "
                    + published.size() + " outcomes (" + drifts + " applied drift repairs), counted " + repairs
                    + " repairs, live set " + live.size() + " of " + n);
        }
        return Map.of("tables_deleted", k, "drift_outcomes", drifts, "repairs_counted", (long) repairs,
                "pass_cpu_ms", Stats.round((((com.sun.management.OperatingSystemMXBean) ManagementFactory
                        .getOperatingSystemMXBean()).getProcessCpuTime() - cpu) / 1e6, 1));
    }

    private static void expectSteady(List<Outcome> published, SimpleMeterRegistry registry, LiveSet live, int n,
            String when) {
        if (!published.isEmpty() || repairs(registry) != 0 || live.size() != n) {
            throw new IllegalStateException(when + " changed the steady state: " + published.size() + " outcomes (e.g. "
                    + (published.isEmpty() ? "-" : published.get(0)) + "), " + repairs(registry)
                    + " repairs, live set " + live.size() + " of " + n);
        }
    }

    private static double repairs(SimpleMeterRegistry registry) {
        return registry.find("netfence.drift.repairs").counters().stream().mapToDouble(Counter::count).sum();
    }

    static String taskOf(int i) {
        return "resync-task-" + i;
    }

    /** 8 literal endpoints (as {@link BenchData#policy}) and 2 hostnames {@code svc-I-J.bench.test}. */
    static String policy(int i) {
        String literals = BenchData.policy(LITERALS, i);
        StringBuilder names = new StringBuilder();
        for (int j = 0; j < HOSTNAMES; j++) {
            names.append(",\"svc-").append(i).append('-').append(j).append(".bench.test:").append(8443 + j).append('"');
        }
        return literals.replaceFirst("\\],\"blockedSubnets\"", names + "],\"blockedSubnets\"");
    }

    /** The in-memory resolver: svc-I-J.bench.test has one address in 198.19.0.0/16 and one in 2001:db8:fffe::/48. */
    private static List<InetAddress> resolve(String hostname, Duration timeout) {
        try {
            int h = Math.floorMod(hostname.hashCode(), 250) + 1;
            int k = Math.floorMod(hostname.hashCode() >> 8, 250) + 1;
            return List.of(InetAddress.getByName("198.19." + k + "." + h),
                    InetAddress.getByName("2001:db8:fffe::" + Integer.toHexString(k * 256 + h)));
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }
}
