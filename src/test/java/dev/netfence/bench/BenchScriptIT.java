package dev.netfence.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Runs {@code scripts/bench.sh --tiny} (the real script, on the packaged jar and the compiled
 * driver, no rebuild) so the benchmark cannot silently rot: it must exit 0, leave no sandbox
 * namespace, host veth or guard chain behind, and write a results.json in which every figure
 * (the seed and guard ones included) is a positive number and the machine is described. Values are never compared with goals here: machines are noisy. The
 * script reuses the broker named by KAFKA_BOOTSTRAP_SERVERS when set, else starts its own.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class BenchScriptIT {

    @Test
    void theTinyBenchmarkWritesEveryFigureAsAPositiveNumber() throws Exception {
        Path root = Path.of("").toAbsolutePath();
        Path log = Files.createDirectories(root.resolve("target/bench-it")).resolve("bench.log");
        ProcessBuilder pb = new ProcessBuilder(root.resolve("scripts/bench.sh").toString(), "--tiny", "--skip-build")
                .directory(root.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("BENCH_OUT", root.resolve("target/bench-it/out").toString());
        Process p = pb.start();
        boolean finished = p.waitFor(10, TimeUnit.MINUTES);
        if (!finished) {
            p.destroy();
            p.waitFor(60, TimeUnit.SECONDS);
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(finished).as("bench.sh --tiny finished; output:%n%s", output).isTrue();
        assertThat(p.exitValue()).as("exit code; output:%n%s", output).isZero();

        JsonNode results = new ObjectMapper().readTree(root.resolve("target/bench-it/out/results.json").toFile());
        assertThat(results.path("mode").asText()).isEqualTo("tiny");
        for (String figure : Report.FIGURES) {
            JsonNode value = results.path("figures").path(figure);
            assertThat(value.isNumber()).as("%s is a number in %s", figure, results.path("figures")).isTrue();
            assertThat(value.asDouble()).as(figure).isPositive();
        }
        JsonNode machine = results.path("machine");
        assertThat(machine.path("cores").asInt()).isPositive();
        assertThat(machine.path("memory_mb").asLong()).isPositive();
        assertThat(machine.path("kernel").asText()).isNotBlank();
        assertThat(machine.path("jdk").asText()).isNotBlank();
        assertThat(results.path("settings").path("host-ruleset-unchanged").asText()).isEqualTo("true");
        assertThat(results.path("settings").path("host-guard-chains-left").asText()).as("guard chains left").isEqualTo("0");
        assertThat(results.path("sections").path("guard").path("backend").asText()).isNotBlank();
        assertThat(output).contains("enforce_ratio", "latency_p99_ms", "rss_mb", "guard_ratio", "seed_speedup");
        String id = output.lines().filter(l -> l.contains("sandbox namespaces nfb-")).findFirst()
                .map(l -> l.replaceAll(".*(nfb-[0-9a-f]+)-.*", "$1")).orElseThrow();
        Process list = new ProcessBuilder(List.of("ip", "netns", "list")).redirectErrorStream(true).start();
        String namespaces = new String(list.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        list.waitFor(10, TimeUnit.SECONDS);
        assertThat(namespaces).as("namespaces left behind").doesNotContain(id + "-")
                .doesNotContain(id.replace("nfb-", "nfg-") + "-");
        String hostVeths = id.replace("nfb-", "nfbh");
        Process links = new ProcessBuilder(List.of("ip", "-o", "link", "show")).redirectErrorStream(true).start();
        String hostLinks = new String(links.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        links.waitFor(10, TimeUnit.SECONDS);
        assertThat(hostLinks).as("host veths left behind").doesNotContain(hostVeths);
        Process table = new ProcessBuilder(List.of("nft", "list", "table", "netdev", "netfence")).redirectErrorStream(true)
                .start();
        String guardTable = new String(table.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        table.waitFor(10, TimeUnit.SECONDS);
        assertThat(guardTable).as("guard chains of the bench's host veths").doesNotContain(hostVeths);
    }
}
