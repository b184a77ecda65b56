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
 * Section 1, the pipeline ceiling. Per repetition: fresh topics with the same partition count,
 * N events of the real shape loaded once per contender, then (a) {@link PlainLoop} in its own
 * JVM, (b) {@code netfence run --dry-run --node-id '*' --policy-dir DIR} and (c) the same with
 * {@code --exactly-once} (over {@code --eos-events}, N/2 by default, to fit the time budget).
 * Every contender first works through {@code --warmup} events (N/4 by default) (the JIT
 * compiles netfence's code paths for a minute or more, which is not its steady rate), then the N
 * measured ones: the rate is (N - 1) / (span of the last N output timestamps). The whole-run rate,
 * warm-up included, is recorded beside it.
 */
final class PipelineBench {
    private final BenchArgs args;
    private final BenchKafka kafka;
    private final Path root;
    private final Path out;

    PipelineBench(BenchArgs args) {
        this.args = args;
        this.kafka = new BenchKafka(args.string("bootstrap"));
        this.root = args.path("root");
        this.out = args.path("out");
    }

    Map<String, Object> run() throws Exception {
        int n = args.integer("events", 100_000);
        int partitions = args.integer("partitions", 4);
        int reps = args.integer("reps", 3);
        int tasks = args.integer("tasks", 1000);
        int netfenceReps = Math.min(reps, args.integer("netfence-reps", reps));
        int warmup = args.integer("warmup", n / 4);
        int eosEvents = args.integer("eos-events", n / 2);
        Path policyDir = out.resolve("pipeline-policies");
        BenchData.writePolicyDir(policyDir, "task-", tasks, 4);
        List<Double> plain = new ArrayList<>();
        List<Double> netfence = new ArrayList<>();
        List<Double> eos = new ArrayList<>();
        List<Double> plainWhole = new ArrayList<>();
        List<Double> netfenceWhole = new ArrayList<>();
        for (int rep = 0; rep < reps; rep++) {
            String id = UUID.randomUUID().toString().substring(0, 8);
            BenchKafka.Span p = plainLoop(id, warmup + n, partitions);
            plain.add(p.rateOfLast(n));
            plainWhole.add(p.ratePerSecond());
            System.err.printf("pipeline rep %d: plain %.0f/s (whole run %.0f/s)%n", rep + 1, plain.get(rep),
                    plainWhole.get(rep));
            if (rep < netfenceReps) {
                BenchKafka.Span nf = netfence(id + "-nf", warmup + n, partitions, tasks, policyDir, false);
                netfence.add(nf.rateOfLast(n));
                netfenceWhole.add(nf.ratePerSecond());
                System.err.printf("pipeline rep %d: netfence --dry-run %.0f/s (whole run %.0f/s)%n", rep + 1,
                        netfence.get(rep), netfenceWhole.get(rep));
                if (!args.string("skip-eos", "false").equals("true")) {
                    eos.add(netfence(id + "-eos", warmup + eosEvents, partitions, tasks, policyDir, true)
                            .rateOfLast(eosEvents));
                    System.err.printf("pipeline rep %d: netfence --exactly-once %.0f/s%n", rep + 1, eos.get(rep));
                }
            }
        }
        Map<String, Object> r = new LinkedHashMap<>();
        double a = Stats.median(plain);
        double b = Stats.median(netfence);
        r.put("plain_events_per_s", Stats.round(a, 1));
        r.put("netfence_events_per_s", Stats.round(b, 1));
        r.put("pipeline_ratio", Stats.round(b / a, 3));
        r.put("exactly_once_events_per_s", eos.isEmpty() ? null : Stats.round(Stats.median(eos), 1));
        r.put("plain_events_per_s_whole_run", Stats.round(Stats.median(plainWhole), 1));
        r.put("netfence_events_per_s_whole_run", Stats.round(Stats.median(netfenceWhole), 1));
        r.put("repetitions", Map.of("plain", plain, "netfence", netfence, "exactly_once", eos,
                "plain_whole_run", plainWhole, "netfence_whole_run", netfenceWhole));
        r.put("settings", Map.of("events", n, "warmup_events", warmup, "exactly_once_events", eosEvents,
                "partitions", partitions, "tasks", tasks,
                "reps", reps,
                "netfence_reps", netfenceReps,
                "netfence_args", "run --dry-run --node-id * --policy-dir DIR --http-port 0"));
        return r;
    }

    private void load(String topic, int n, int partitions, int tasks) {
        kafka.createTopics(partitions, Map.of(), topic);
        Instant now = Instant.now();
        kafka.load(n, i -> BenchData.eventRecord(topic, "node-" + (i % 16), "task-" + (i % tasks),
                "c" + (i % 5000), 3_000_000 + (i % 5000), now));
    }

    private BenchKafka.Span plainLoop(String id, int n, int partitions) throws Exception {
        String in = "bench.events-" + id + "-plain";
        String outTopic = "bench.plain-out-" + id;
        load(in, n, partitions, 1);
        kafka.createTopics(partitions, Map.of(), outTopic);
        List<String> argv = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), PlainLoop.class.getName(),
                kafka.bootstrap(), in, outTopic, "bench-plain-" + id, Integer.toString(n));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true)
                .redirectOutput(out.resolve("plain-" + id + ".log").toFile()).start();
        try {
            if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
                throw new IllegalStateException("plain loop failed; see " + out.resolve("plain-" + id + ".log"));
            }
        } finally {
            p.destroyForcibly();
        }
        return kafka.awaitRecords(outTopic, n, Duration.ofMinutes(2), false, () -> { });
    }

    private BenchKafka.Span netfence(String id, int n, int partitions, int tasks, Path policyDir, boolean exactlyOnce)
            throws Exception {
        String in = "bench.events-" + id;
        String outTopic = "bench.outcomes-" + id;
        load(in, n, partitions, tasks);
        kafka.createTopics(partitions, Map.of(), outTopic);
        List<String> flags = new ArrayList<>(List.of("--bootstrap-servers", kafka.bootstrap(), "--dry-run",
                "--node-id", "*", "--policy-dir", policyDir.toString(), "--events-topic", in,
                "--outcomes-topic", outTopic, "--http-port", "0"));
        if (exactlyOnce) {
            flags.add("--exactly-once");
        }
        String extra = args.string("netfence-args", "").trim();
        if (!extra.isEmpty()) {
            flags.addAll(List.of(extra.split("\\s+")));
        }
        try (NetfenceProcess nf = NetfenceProcess.start(root, out.resolve("netfence-" + id + ".log"),
                args.string("java-opts", ""), flags)) {
            return kafka.awaitRecords(outTopic, n, Duration.ofMinutes(5), false, nf::checkAlive);
        }
    }
}
