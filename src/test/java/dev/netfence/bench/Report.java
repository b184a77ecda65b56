package dev.netfence.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Merges the section files into {@code results.json}: the headline figures at the top level,
 * each section's detail under its name, the machine (cores, memory, kernel, JDK) and the
 * settings; prints the table. Exits non-zero when a figure of a section that was asked for
 * ({@code --only}, default all) is missing.
 */
final class Report {
    static final List<String> FIGURES = List.of("plain_events_per_s", "netfence_events_per_s", "pipeline_ratio",
            "exactly_once_events_per_s", "floor_events_per_s", "nft_floor_events_per_s", "netfence_enforce_events_per_s",
            "enforce_ratio", "nft_ratio", "enforce_ratio_ceiling",
            "seed_speedup", "containment_overhead_nft", "containment_overhead_iptables", "containment_first_overhead_nft",
            "latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "latency_max_ms", "heap_mb", "rss_mb",
            "guard_off_apply_ms", "guard_apply_ms", "guard_ratio", "guard_off_events_per_s", "guard_events_per_s",
            "guard_parallel_ratio", "guard_reapply_off_ms", "guard_reapply_ms", "guard_reapply_ratio",
            "skip_plain_events_per_s", "skip_events_per_s", "skip_ratio",
            "resync_us_per_container", "resync_core_fraction_at_1s", "resync_wall_ms",
            "live_set_rss_mb", "live_set_rss_before_mb", "live_set_heap_mb", "live_set_heap_before_mb",
            "policy_update_p50_ms", "policy_update_p99_ms");

    /** The section each figure comes from. */
    private static final Map<String, String> SECTION_OF = Map.ofEntries(
            Map.entry("plain_events_per_s", "pipeline"), Map.entry("netfence_events_per_s", "pipeline"),
            Map.entry("pipeline_ratio", "pipeline"), Map.entry("exactly_once_events_per_s", "pipeline"),
            Map.entry("floor_events_per_s", "enforce"), Map.entry("netfence_enforce_events_per_s", "enforce"),
            Map.entry("enforce_ratio", "enforce"), Map.entry("seed_speedup", "seed"),
            Map.entry("containment_overhead_nft", "seed"), Map.entry("containment_overhead_iptables", "seed"),
            Map.entry("containment_first_overhead_nft", "seed"),
            Map.entry("nft_floor_events_per_s", "enforce"), Map.entry("nft_ratio", "enforce"),
            Map.entry("enforce_ratio_ceiling", "enforce"),
            Map.entry("latency_p50_ms", "latency"), Map.entry("latency_p95_ms", "latency"),
            Map.entry("latency_p99_ms", "latency"), Map.entry("latency_max_ms", "latency"),
            Map.entry("heap_mb", "memory"), Map.entry("rss_mb", "memory"),
            Map.entry("guard_off_apply_ms", "guard"), Map.entry("guard_apply_ms", "guard"),
            Map.entry("guard_ratio", "guard"), Map.entry("guard_off_events_per_s", "guard"),
            Map.entry("guard_events_per_s", "guard"), Map.entry("guard_parallel_ratio", "guard"),
            Map.entry("guard_reapply_off_ms", "guard"), Map.entry("guard_reapply_ms", "guard"),
            Map.entry("guard_reapply_ratio", "guard"),
            Map.entry("skip_plain_events_per_s", "skip"), Map.entry("skip_events_per_s", "skip"),
            Map.entry("skip_ratio", "skip"),
            Map.entry("resync_us_per_container", "resync"), Map.entry("resync_core_fraction_at_1s", "resync"),
            Map.entry("resync_wall_ms", "resync"),
            Map.entry("live_set_rss_mb", "liveset"), Map.entry("live_set_rss_before_mb", "liveset"),
            Map.entry("live_set_heap_mb", "liveset"), Map.entry("live_set_heap_before_mb", "liveset"),
            Map.entry("policy_update_p50_ms", "policy"), Map.entry("policy_update_p99_ms", "policy"));

    private Report() {}

    static Map<String, Object> write(BenchArgs args) throws Exception {
        Path out = args.path("out");
        ObjectNode root = Bench.JSON.createObjectNode();
        root.put("generatedAt", Instant.now().toString());
        root.put("mode", args.string("mode", "full"));
        ObjectNode figures = root.putObject("figures");
        JsonNode pipeline = section(out, "pipeline");
        JsonNode enforce = section(out, "enforce");
        JsonNode seed = section(out, "seed");
        JsonNode latency = section(out, "latency");
        JsonNode memory = section(out, "memory");
        copy(figures, pipeline, "plain_events_per_s", "plain_events_per_s");
        copy(figures, pipeline, "netfence_events_per_s", "netfence_events_per_s");
        copy(figures, pipeline, "pipeline_ratio", "pipeline_ratio");
        copy(figures, pipeline, "exactly_once_events_per_s", "exactly_once_events_per_s");
        copy(figures, enforce, "floor_events_per_s", "floor_events_per_s");
        copy(figures, enforce, "netfence_events_per_s", "netfence_enforce_events_per_s");
        copy(figures, enforce, "enforce_ratio", "enforce_ratio");
        copy(figures, enforce, "process_floor_events_per_s", "process_floor_events_per_s");
        copy(figures, enforce, "nft_floor_events_per_s", "nft_floor_events_per_s");
        copy(figures, enforce, "nft_ratio", "nft_ratio");
        ceiling(figures);
        for (String k : List.of("seed_speedup", "containment_overhead_nft", "containment_aa_nft",
                "containment_overhead_iptables", "containment_aa_iptables", "containment_first_overhead_nft",
                "containment_first_aa_nft")) {
            copy(figures, seed, k, k);
        }
        for (String k : List.of("latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "latency_max_ms")) {
            copy(figures, latency, k, k);
        }
        copy(figures, memory, "heap_mb", "heap_mb");
        copy(figures, memory, "rss_mb", "rss_mb");
        JsonNode guard = section(out, "guard");
        for (String k : List.of("guard_off_apply_ms", "guard_apply_ms", "guard_ratio", "guard_off_events_per_s",
                "guard_events_per_s", "guard_parallel_ratio", "guard_reapply_off_ms", "guard_reapply_ms",
                "guard_reapply_ratio")) {
            copy(figures, guard, k, k);
        }
        JsonNode skip = section(out, "skip");
        for (String k : List.of("skip_plain_events_per_s", "skip_events_per_s", "skip_ratio")) {
            copy(figures, skip, k, k);
        }
        JsonNode resync = section(out, "resync");
        for (String k : List.of("resync_us_per_container", "resync_core_fraction_at_1s", "resync_wall_ms")) {
            copy(figures, resync, k, k);
        }
        JsonNode liveset = section(out, "liveset");
        for (String k : List.of("live_set_rss_mb", "live_set_rss_before_mb", "live_set_heap_mb",
                "live_set_heap_before_mb", "live_set_heap_growth_mb")) {
            copy(figures, liveset, k, k);
        }
        JsonNode policy = section(out, "policy");
        for (String k : List.of("policy_update_p50_ms", "policy_update_p99_ms", "policy_update_max_ms")) {
            copy(figures, policy, k, k);
        }
        ObjectNode sections = root.putObject("sections");
        for (String name : List.of("pipeline", "enforce", "seed", "latency", "memory", "guard", "skip", "resync", "liveset",
                "policy")) {
            JsonNode s = section(out, name);
            if (s != null) {
                sections.set(name, s);
            }
        }
        root.set("machine", Bench.JSON.valueToTree(machine()));
        ObjectNode settings = root.putObject("settings");
        args.all().forEach((k, v) -> {
            if (!k.equals("out") && !k.equals("root")) {
                settings.put(k, v);
            }
        });
        Bench.JSON.writeValue(out.resolve("results.json").toFile(), root);
        print(figures, root.path("machine"));
        System.out.printf("%-38s %14s   %s%n", "whole run s (bench.sh)", args.string("duration-s", "-"),
                "<= 360 (full mode)");
        List<String> asked = List.of(args.string("only",
                "pipeline enforce seed latency memory guard skip resync liveset policy").trim().split("\\s+"));
        List<String> missing = FIGURES.stream()
                .filter(f -> asked.contains(SECTION_OF.get(f)) && !figures.path(f).isNumber()).toList();
        if (!missing.isEmpty()) {
            System.err.println("missing figures: " + missing);
            System.exit(3);
        }
        return Map.of("written", out.resolve("results.json").toString());
    }

    /**
     * {@code enforce_ratio_ceiling}: the nft floor over the process floor of the same run, the most
     * enforce_ratio can read on this machine (netfence makes the floor's library calls and more,
     * from as many threads). Below 10, enforce_ratio's goal cannot be met here by any in-process
     * apply: process starts are cheap relative to the kernel's nftables work on this machine.
     */
    static void ceiling(ObjectNode figures) {
        JsonNode nft = figures.path("nft_floor_events_per_s");
        JsonNode process = figures.path("process_floor_events_per_s");
        if (nft.isNumber() && process.isNumber() && process.asDouble() > 0) {
            figures.put("enforce_ratio_ceiling", Stats.round(nft.asDouble() / process.asDouble(), 2));
        }
    }

    private static JsonNode section(Path out, String name) throws Exception {
        Path f = out.resolve(name + ".json");
        return Files.exists(f) ? Bench.JSON.readTree(f.toFile()) : null;
    }

    private static void copy(ObjectNode figures, JsonNode section, String from, String to) {
        if (section != null && section.path(from).isNumber()) {
            figures.set(to, section.get(from));
        }
    }

    static Map<String, Object> machine() throws Exception {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cores", Runtime.getRuntime().availableProcessors());
        long memKb = 0;
        for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (line.startsWith("MemTotal:")) {
                memKb = Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        m.put("memory_mb", memKb / 1024);
        m.put("kernel", Files.readString(Path.of("/proc/sys/kernel/osrelease")).trim());
        m.put("jdk", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        m.put("driver_jvm_args", ManagementFactory.getRuntimeMXBean().getInputArguments());
        return m;
    }

    private static void print(JsonNode f, JsonNode machine) {
        String goal = "%-38s %14s   %s%n";
        System.out.printf("%nnetfence benchmark (%s cores, %s MB, kernel %s, %s)%n", machine.path("cores").asText(),
                machine.path("memory_mb").asText(), machine.path("kernel").asText(), machine.path("jdk").asText());
        System.out.printf(goal, "figure", "value", "goal");
        row(f, "plain_events_per_s", "pipeline: plain consume-produce ev/s (warm)", "");
        row(f, "netfence_events_per_s", "pipeline: netfence --dry-run ev/s (warm)", "");
        row(f, "pipeline_ratio", "pipeline_ratio", ">= 0.8");
        row(f, "exactly_once_events_per_s", "pipeline: netfence --exactly-once ev/s", "");
        row(f, "floor_events_per_s", "enforce: xargs -P restore floor ev/s", "");
        row(f, "netfence_enforce_events_per_s", "enforce: netfence from Kafka ev/s", "");
        row(f, "enforce_ratio", "enforce_ratio (vs the process floor)", ">= 10 with --backend nft");
        row(f, "nft_floor_events_per_s", "enforce: in-process nft floor ev/s", "");
        row(f, "nft_ratio", "nft_ratio (netfence / nft floor)", ">= 0.8");
        row(f, "enforce_ratio_ceiling", "enforce: nft floor / process floor", ">= 10, or enforce_ratio's goal is out of reach here");
        row(f, "seed_speedup", "seed_speedup (10 endpoints)", ">= 50");
        row(f, "containment_overhead_nft", "containment_overhead_nft (with/without)", "<= 1.05");
        row(f, "containment_aa_nft", "containment: nft A/A (noise)", "");
        row(f, "containment_overhead_iptables", "containment_overhead_iptables", "<= 1.05");
        row(f, "containment_aa_iptables", "containment: iptables A/A (noise)", "");
        row(f, "containment_first_overhead_nft", "containment, first applies (nft, with/without)", "<= 1.05");
        row(f, "containment_first_aa_nft", "containment, first applies: A/A (noise)", "");
        row(f, "latency_p50_ms", "latency p50 ms", "");
        row(f, "latency_p95_ms", "latency p95 ms", "");
        row(f, "latency_p99_ms", "latency_p99_ms", "<= 20");
        row(f, "latency_max_ms", "latency max ms", "");
        row(f, "heap_mb", "heap_mb after full GC", "");
        row(f, "rss_mb", "rss_mb", "<= 512");
        row(f, "guard_off_apply_ms", "guard: apply ms, --host-guard off", "");
        row(f, "guard_apply_ms", "guard: apply ms, --host-guard required", "");
        row(f, "guard_ratio", "guard_ratio (with guard / alone)", "<= 1.5");
        row(f, "guard_off_events_per_s", "guard: applies/s x8 threads, off", "");
        row(f, "guard_events_per_s", "guard: applies/s x8 threads, required", "");
        row(f, "guard_parallel_ratio", "guard_parallel_ratio (alone / guard)", "<= 1.5");
        row(f, "guard_reapply_off_ms", "guard: unchanged re-apply ms, off", "");
        row(f, "guard_reapply_ms", "guard: unchanged re-apply ms, required", "");
        row(f, "guard_reapply_ratio", "guard: unchanged re-apply ratio", "");
        row(f, "skip_plain_events_per_s", "skip: plain consume-produce ev/s", "");
        row(f, "skip_events_per_s", "skip: netfence other-node skips/s", "");
        row(f, "skip_ratio", "skip_ratio (netfence / plain loop)", ">= 0.8");
        row(f, "resync_us_per_container", "resync_us_per_container (nft, CPU)", "<= 250");
        row(f, "resync_core_fraction_at_1s", "resync: cores busy at a 1 s interval", "<= 0.25");
        row(f, "resync_wall_ms", "resync: wall ms of one pass", "< 1000");
        row(f, "live_set_rss_before_mb", "live set: rss_mb before the cycles", "");
        row(f, "live_set_rss_mb", "live_set_rss_mb after the cycles", "<= before + 64");
        row(f, "live_set_heap_before_mb", "live set: heap_mb before (full GC)", "");
        row(f, "live_set_heap_mb", "live set: heap_mb after (full GC)", "<= before + 8");
        row(f, "policy_update_p50_ms", "policy update p50 ms", "");
        row(f, "policy_update_p99_ms", "policy_update_p99_ms", "<= 2000");
    }

    private static void row(JsonNode f, String key, String label, String goal) {
        System.out.printf("%-38s %14s   %s%n", label, f.has(key) ? f.get(key).asText() : "-", goal);
    }
}
