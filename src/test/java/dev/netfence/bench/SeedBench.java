package dev.netfence.bench;

import dev.netfence.core.EnforcementResult;
import dev.netfence.enforce.DefaultEnforcer;
import dev.netfence.enforce.EnforcementRequest;
import dev.netfence.enforce.EnforcerConfig;
import dev.netfence.iptables.RestoreRenderer;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.policy.Family;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
import dev.netfence.rules.PlannedRules;
import dev.netfence.rules.RulePlanner;
import dev.netfence.rules.RuleSet;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Section 3, against the seed's method. The same 10-endpoint policy and the same rules, applied
 * single-threaded, event after event: (a) the seed's way, one
 * {@code nsenter --net=NS iptables ...} process per rule in sequence as {@code SetupExternalFirewall}
 * does (plus one flush per owned chain so a re-apply does not pile up duplicates), versus (b)
 * netfence as the running service applies an event: the production {@link DefaultEnforcer}
 * (default backend, i.e. nft in-process where libnftables loads: pin, containment checks, one
 * table transaction, read-back and verification, conntrack flush) in this JVM, warmed up by
 * untimed applies first, as a service that has been running is. A fresh JVM per event would
 * measure JVM start, which the service pays once. The two methods use different sandboxes: an
 * nft apply removes the other backend's netfence chains from its namespace (issue 13), which
 * would delete the seed's chains between its events.
 * Figure: seed_speedup = seed time per event / netfence time per event. The section also
 * measures what issue 12's containment steps add to an apply on each backend
 * ({@link ContainmentBench}: containment_overhead_nft, containment_overhead_iptables).
 */
final class SeedBench {
    private final BenchArgs args;

    SeedBench(BenchArgs args) {
        this.args = args;
    }

    Map<String, Object> run() throws Exception {
        List<Sandboxes.Sandbox> boxes = Sandboxes.read(args.path("sandboxes")).all();
        if (boxes.size() < 2) {
            throw new IllegalArgumentException("the seed section needs 2 sandboxes (one per method), got "
                    + boxes.size());
        }
        Sandboxes.Sandbox seedBox = boxes.get(0);
        Sandboxes.Sandbox netfenceBox = boxes.get(1);
        int events = args.integer("events", 10);
        int netfenceEvents = args.integer("netfence-events", 20 * events);
        int warmup = args.integer("warmup", 50);
        int reps = args.integer("reps", 3);
        String json = BenchData.policy(EnforceBench.ENDPOINTS, 0);
        NetworkPolicy policy = new PolicyParser().parse(json.getBytes(StandardCharsets.UTF_8));
        PlannedRules plan = new RulePlanner().plan(policy, Map.of(), List.of()); // as netfence without --dns-servers
        List<List<String>> seedCommands = seedCommands(seedBox, plan);
        DefaultEnforcer enforcer = new DefaultEnforcer(EnforcerConfig.custom()
                .cgroupCheck(Boolean.parseBoolean(args.string("cgroup-check", "true"))).build(),
                new ProcessCommandRunner(), Clock.systemUTC(), new SimpleMeterRegistry());
        String backend = null;
        long w0 = System.nanoTime();
        long first = 0;
        for (int i = 0; i < warmup; i++) { // not timed: JNA, the namespace threads, the JIT, first table
            backend = applyOnce(enforcer, netfenceBox, policy).backend();
            first = i == 0 ? System.nanoTime() - w0 : first;
        }
        double warmupMs = (System.nanoTime() - w0) / 1e6;
        System.err.printf("seed: netfence warm-up %d applies in %.0f ms (the first %.1f ms)%n", warmup, warmupMs,
                first / 1e6);
        List<Double> seedMs = new ArrayList<>();
        List<Double> netfenceMs = new ArrayList<>();
        for (int rep = 0; rep < reps; rep++) {
            createSeedChains(seedBox); // not timed; the chains stay between events, as the seed's OUTPUT does
            long t0 = System.nanoTime();
            for (int e = 0; e < events; e++) {
                for (List<String> argv : seedCommands) {
                    exec(argv, true);
                }
            }
            long t1 = System.nanoTime();
            for (int e = 0; e < netfenceEvents; e++) {
                applyOnce(enforcer, netfenceBox, policy);
            }
            long t2 = System.nanoTime();
            seedMs.add((t1 - t0) / 1e6 / events);
            netfenceMs.add((t2 - t1) / 1e6 / netfenceEvents);
            System.err.printf("seed rep %d: seed %.1f ms/event, netfence (%s, in-process, warm) %.2f ms/event%n",
                    rep + 1, seedMs.get(rep), backend, netfenceMs.get(rep));
        }
        double a = Stats.median(seedMs);
        double b = Stats.median(netfenceMs);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("seed_ms_per_event", Stats.round(a, 2));
        r.put("netfence_ms_per_event", Stats.round(b, 3));
        r.put("seed_speedup", Stats.round(a / b, 2));
        r.put("netfence_backend", backend);
        r.put("seed_processes_per_event", seedCommands.size());
        r.put("rules_per_event", plan.ruleCount());
        r.put("netfence_warmup_ms", Map.of("first_apply", Stats.round(first / 1e6, 1), "all", Stats.round(warmupMs, 1)));
        r.put("repetitions", Map.of("seed_ms", seedMs, "netfence_ms", netfenceMs));
        // issue 12's containment steps, with and without, per backend (sandboxes 2 and 3 where the run has them)
        r.putAll(new ContainmentBench(args).run(boxes.get(Math.min(2, boxes.size() - 1)),
                boxes.get(Math.min(3, boxes.size() - 1)), policy));
        if (args.string("first-sandboxes", null) != null) { // the same on namespaces nothing applied to yet
            r.putAll(new FirstApplyBench(args).run(Sandboxes.read(args.path("first-sandboxes")).all(), policy));
        }
        r.put("settings", Map.of("seed_events_per_rep", events, "netfence_events_per_rep", netfenceEvents,
                "netfence_warmup_events", warmup, "reps", reps, "endpoints", EnforceBench.ENDPOINTS,
                "netfence", "DefaultEnforcer in the driver JVM, production wiring, default backend, warm"));
        return r;
    }

    /** One apply of {@code policy} to {@code box} by {@code enforcer}; IllegalStateException when it was not {@code applied}. */
    static EnforcementResult applyOnce(DefaultEnforcer enforcer, Sandboxes.Sandbox box, NetworkPolicy policy) {
        EnforcementResult r = enforcer.enforce(new EnforcementRequest(box.containerId(), "podman", box.pid(), policy,
                Instant.now().plusSeconds(30)));
        if (!EnforcementResult.APPLIED.equals(r.status())) {
            throw new IllegalStateException("netfence did not apply: " + r);
        }
        return r;
    }

    /** The seed's method writes into chains that exist; an earlier section's nft apply may have removed them. */
    private static void createSeedChains(Sandboxes.Sandbox box) throws Exception {
        for (String chain : List.of(RestoreRenderer.OUT_CHAIN, RestoreRenderer.IN_CHAIN)) {
            for (String bin : List.of("iptables", "ip6tables")) {
                exec(List.of("nsenter", "--net=" + box.netnsPath(), bin, "-N", chain), false);
            }
        }
    }

    /** Per family: flush both owned chains, then one {@code iptables -A} process per rule. */
    static List<List<String>> seedCommands(Sandboxes.Sandbox box, PlannedRules plan) {
        RestoreRenderer renderer = new RestoreRenderer();
        List<List<String>> out = new ArrayList<>();
        for (Family f : List.of(Family.IPV4, Family.IPV6)) {
            String bin = f == Family.IPV4 ? "iptables" : "ip6tables";
            RuleSet rules = plan.forFamily(f);
            List<String> lines = new ArrayList<>(renderer.lines(rules, dev.netfence.rules.Direction.OUT));
            lines.addAll(renderer.lines(rules, dev.netfence.rules.Direction.IN));
            for (String chain : List.of(RestoreRenderer.OUT_CHAIN, RestoreRenderer.IN_CHAIN)) {
                out.add(List.of("nsenter", "--net=" + box.netnsPath(), bin, "-F", chain));
            }
            for (String line : lines) {
                List<String> argv = new ArrayList<>(List.of("nsenter", "--net=" + box.netnsPath(), bin));
                argv.addAll(tokens(line));
                out.add(argv);
            }
        }
        return out;
    }

    /** Splits an iptables-save line into argv, honouring double quotes. */
    static List<String> tokens(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        boolean any = false;
        for (char ch : line.toCharArray()) {
            if (ch == '"') {
                quoted = !quoted;
                any = true;
            } else if (ch == ' ' && !quoted) {
                if (any) {
                    out.add(cur.toString());
                }
                cur.setLength(0);
                any = false;
            } else {
                cur.append(ch);
                any = true;
            }
        }
        if (any) {
            out.add(cur.toString());
        }
        return out;
    }

    private static void exec(List<String> argv, boolean mustSucceed) throws Exception {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        int code = p.waitFor();
        if (mustSucceed && code != 0) {
            throw new IllegalStateException("seed command failed (exit " + code + "): " + argv);
        }
    }
}
