package dev.netfence.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Section 5, memory. A compacted policies topic with T policies (the production store, read
 * into memory), T events (one per task, so every policy is looked up) processed by
 * {@code netfence run --dry-run --node-id '*'}; once every outcome is out: a full GC through
 * {@code jcmd PID GC.run}, heap in use from {@code jcmd PID GC.heap_info}, and the process's
 * resident set (VmRSS) from {@code /proc/PID/status}. JVM options are the launcher's defaults
 * plus whatever {@code --java-opts} says (recorded in the settings).
 */
final class MemoryBench {
    private static final Pattern USED = Pattern.compile("used (\\d+)K");

    private final BenchArgs args;

    MemoryBench(BenchArgs args) {
        this.args = args;
    }

    Map<String, Object> run() throws Exception {
        BenchKafka kafka = new BenchKafka(args.string("bootstrap"));
        int tasks = args.integer("tasks", 100_000);
        int partitions = args.integer("partitions", 4);
        String id = UUID.randomUUID().toString().substring(0, 8);
        String policies = "bench.policies-" + id;
        String events = "bench.memory-events-" + id;
        String outcomes = "bench.memory-outcomes-" + id;
        kafka.createTopics(1, Map.of("cleanup.policy", "compact"), policies);
        kafka.createTopics(partitions, Map.of(), events, outcomes);
        kafka.load(tasks, i -> new ProducerRecord<>(policies, ("mt-" + i).getBytes(StandardCharsets.UTF_8),
                BenchData.policy(4, i).getBytes(StandardCharsets.UTF_8)));
        Instant now = Instant.now();
        kafka.load(tasks, i -> BenchData.eventRecord(events, "node-" + (i % 16), "mt-" + i, "m" + i,
                3_000_000 + (i % 5000), now));
        String javaOpts = args.string("java-opts", "");
        List<String> flags = List.of("--bootstrap-servers", kafka.bootstrap(), "--dry-run", "--node-id", "*",
                "--policies-topic", policies, "--events-topic", events, "--outcomes-topic", outcomes,
                "--http-port", "0");
        Map<String, Object> r = new LinkedHashMap<>();
        try (NetfenceProcess nf = NetfenceProcess.start(args.path("root"),
                args.path("out").resolve("netfence-memory-" + id + ".log"), javaOpts, flags)) {
            kafka.awaitRecords(outcomes, tasks, Duration.ofMinutes(5), false, nf::checkAlive);
            long pid = nf.pid();
            jcmd(pid, "GC.run");
            String info = jcmd(pid, "GC.heap_info");
            Matcher m = USED.matcher(info);
            if (!m.find()) {
                throw new IllegalStateException("cannot read heap use from: " + info);
            }
            double heapMb = Long.parseLong(m.group(1)) / 1024.0;
            double atGc = rssKb(pid) / 1024.0;
            double rssMb = settledRssKb(pid) / 1024.0;
            r.put("heap_mb", Stats.round(heapMb, 1));
            r.put("rss_mb", Stats.round(rssMb, 1));
            r.put("rss_mb_right_after_gc", Stats.round(atGc, 1));
        }
        r.put("settings", Map.of("policies", tasks, "events", tasks, "java_opts", javaOpts,
                "store", "compacted topic (TopicPolicyStore)", "netfence_args", String.join(" ", flags)
                        .replace(kafka.bootstrap(), "BOOTSTRAP")));
        return r;
    }

    private static String jcmd(long pid, String command) throws Exception {
        List<String> argv = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                Long.toString(pid), command));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("jcmd " + command + " failed: " + text);
        }
        return text;
    }

    /**
     * VmRSS once it has settled: G1 gives the regions a full GC freed back to the kernel from a
     * concurrent thread afterwards, so a read right after {@code GC.run} is anywhere between the
     * heap before and after (460 to 760 MB in back-to-back runs of the same build on 2026-12-02).
     * Read every 100 ms until three reads in a row are within 1 MB of each other, for up to 5 s.
     */
    private static long settledRssKb(long pid) throws Exception {
        long[] last = {rssKb(pid), -1, -1};
        for (int i = 0; i < 50; i++) {
            Thread.sleep(100);
            last[2] = last[1];
            last[1] = last[0];
            last[0] = rssKb(pid);
            long max = Math.max(last[0], Math.max(last[1], last[2]));
            long min = Math.min(last[0], Math.min(last[1], last[2]));
            if (last[2] >= 0 && max - min <= 1024) {
                return last[0];
            }
        }
        return last[0];
    }

    private static long rssKb(long pid) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS for pid " + pid);
    }
}
