package dev.netfence.bench;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * Section 7, skipping other nodes' events (issue 13 item 5). In {@code --assignment group} every
 * node reads every node's events, so most of what a node consumes is skipped. One topic of one
 * partition holds, in order: a warm-up of other-node events (N/4), a marker event for the
 * measured node, N other-node events (keyed by their node id, as schedulers publish them), a
 * second marker. Both contenders read that same topic in their own consumer group:
 * {@link PlainLoop} (consume and produce every record, netfence's client settings), rate over the
 * last N + 2 output timestamps; and {@code netfence run --dry-run --assignment group --node-id
 * NODE}, which publishes outcomes for the two markers only, so its skip rate is N / (span between
 * the two marker outcomes). Figure: skip_ratio = netfence's skip rate / the plain loop's rate.
 */
final class SkipBench {
    private final BenchArgs args;
    private final BenchKafka kafka;
    private final Path root;
    private final Path out;

    SkipBench(BenchArgs args) {
        this.args = args;
        this.kafka = new BenchKafka(args.string("bootstrap"));
        this.root = args.path("root");
        this.out = args.path("out");
    }

    Map<String, Object> run() throws Exception {
        int n = args.integer("events", 100_000);
        int warmup = args.integer("warmup", n / 4);
        int reps = args.integer("reps", 1);
        Path policyDir = out.resolve("skip-policies");
        BenchData.writePolicyDir(policyDir, "task-", 1, 4);
        List<Double> plain = new ArrayList<>();
        List<Double> skipped = new ArrayList<>();
        for (int rep = 0; rep < reps; rep++) {
            String id = UUID.randomUUID().toString().substring(0, 8);
            String node = "bench-skip-" + id;
            String topic = "bench.skip-events-" + id;
            load(topic, node, warmup, n);
            boolean plainFirst = rep % 2 == 0;
            for (int turn = 0; turn < 2; turn++) {
                if ((turn == 0) == plainFirst) {
                    plain.add(plainLoop(id, topic, warmup + n + 2).rateOfLast(n + 2));
                } else {
                    skipped.add(netfence(id, topic, node, policyDir, n));
                }
            }
            System.err.printf("skip rep %d: plain loop %.0f/s, netfence skips %.0f/s%n", rep + 1, plain.get(rep),
                    skipped.get(rep));
        }
        double a = Stats.median(plain);
        double b = Stats.median(skipped);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("skip_plain_events_per_s", Stats.round(a, 1));
        r.put("skip_events_per_s", Stats.round(b, 1));
        r.put("skip_ratio", Stats.round(b / a, 3));
        r.put("repetitions", Map.of("plain", plain, "netfence_skipped", skipped));
        r.put("settings", Map.of("events", n, "warmup_events", warmup, "partitions", 1, "reps", reps,
                "other_nodes", 16, "record_key", "the event's nodeId",
                "netfence_args", "run --dry-run --assignment group --node-id NODE --policy-dir DIR --http-port 0"));
        return r;
    }

    /** Warm-up, marker, n other-node events, marker; every record keyed by its event's node id. */
    private void load(String topic, String node, int warmup, int n) {
        kafka.createTopics(1, Map.of(), topic);
        Instant now = Instant.now();
        int marker1 = warmup;
        int marker2 = warmup + n + 1;
        kafka.load(warmup + n + 2, i -> i == marker1 || i == marker2
                ? BenchData.eventRecord(topic, node, "task-0", "marker-" + i, 3_000_000, now)
                : BenchData.eventRecord(topic, "node-" + (i % 16), "task-0", "c" + (i % 5000), 3_000_000 + (i % 5000),
                        now));
    }

    private BenchKafka.Span plainLoop(String id, String topic, int n) throws Exception {
        String outTopic = "bench.skip-plain-out-" + id;
        kafka.createTopics(1, Map.of(), outTopic);
        List<String> argv = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), PlainLoop.class.getName(),
                kafka.bootstrap(), topic, outTopic, "bench-skip-plain-" + id, Integer.toString(n));
        Path log = out.resolve("skip-plain-" + id + ".log");
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
                throw new IllegalStateException("plain loop failed; see " + log);
            }
        } finally {
            p.destroyForcibly();
        }
        return kafka.awaitRecords(outTopic, n, Duration.ofMinutes(2), false, () -> { });
    }

    /** netfence's skip rate: n / the span between the two marker outcomes. */
    private double netfence(String id, String topic, String node, Path policyDir, int n) throws Exception {
        String outcomes = "bench.skip-outcomes-" + id;
        kafka.createTopics(1, Map.of(), outcomes);
        List<String> flags = List.of("--bootstrap-servers", kafka.bootstrap(), "--dry-run", "--assignment", "group",
                "--node-id", node, "--policy-dir", policyDir.toString(), "--events-topic", topic,
                "--outcomes-topic", outcomes, "--http-port", "0");
        try (NetfenceProcess nf = NetfenceProcess.start(root, out.resolve("netfence-skip-" + id + ".log"),
                args.string("java-opts", ""), flags)) {
            BenchKafka.Span span = kafka.awaitRecords(outcomes, 2, Duration.ofMinutes(5), true, nf::checkAlive);
            for (byte[] v : span.values()) {
                var o = Bench.JSON.readTree(v);
                if (!"applied".equals(o.path("status").asText()) || !o.path("containerId").asText().startsWith("marker-")) {
                    throw new IllegalStateException("expected the markers' dry-run outcomes only, got " + o);
                }
            }
            return n * 1000.0 / Math.max(1, span.lastMs() - span.firstMs());
        }
    }
}
