package dev.netfence.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Entry point of the benchmark driver that {@code scripts/bench.sh} runs:
 * {@code Bench SECTION --key value ...}. Each section writes {@code OUT/SECTION.json};
 * {@code report} merges them with the machine description into {@code results.json} and prints
 * the table. Sections: pipeline, enforce-prepare, enforce, seed, latency, memory, guard, skip, resync,
 * liveset, policy, report.
 */
public final class Bench {
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Bench() {}

    public static void main(String[] argv) throws Exception {
        if (argv.length < 1) {
            System.err.println("usage: Bench SECTION --key value ...");
            System.exit(2);
        }
        String section = argv[0];
        BenchArgs args = new BenchArgs(argv, 1);
        Map<String, Object> result = switch (section) {
            case "pipeline" -> new PipelineBench(args).run();
            case "enforce-prepare" -> new EnforceBench(args).prepare();
            case "enforce" -> new EnforceBench(args).run();
            case "seed" -> new SeedBench(args).run();
            case "latency" -> new LatencyBench(args).run();
            case "memory" -> new MemoryBench(args).run();
            case "guard" -> new GuardBench(args).run();
            case "skip" -> new SkipBench(args).run();
            case "resync" -> new ResyncBench(args).run();
            case "liveset" -> new LiveSetBench(args).run();
            case "policy" -> new PolicyUpdateBench(args).run();
            case "report" -> Report.write(args);
            default -> throw new IllegalArgumentException("unknown section " + section);
        };
        Path out = args.path("out");
        Files.createDirectories(out);
        JSON.writeValue(out.resolve(section + ".json").toFile(), result);
        System.exit(0);
    }
}
