package dev.netfence.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.Sh;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's run command, {@code scripts/quickstart.sh}, twice in a row as a user runs it (with
 * the jar this build packaged and this run's classpath, so it builds nothing): each run must end
 * with an applied outcome and one allowed and one blocked connection for IPv4 and IPv6, and leave
 * no namespace and no process of its own behind, so the second run starts as clean as the first.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class QuickstartScriptIT {
    @TempDir
    Path dir;

    @Test
    void theQuickstartShowsTheRulesHoldingAndCanRunTwiceInARow() throws Exception {
        for (int run = 1; run <= 2; run++) {
            String out = runQuickstart(dir.resolve("quickstart-" + run + ".log"));

            assertThat(out).contains("\"status\":\"applied\"")
                    .containsPattern("198\\.18\\.77\\.2:8443\\s+-> allowed")
                    .containsPattern("198\\.18\\.77\\.2:8444\\s+-> blocked")
                    .containsPattern("\\[2001:db8:77::2\\]:8443 -> allowed")
                    .containsPattern("\\[2001:db8:77::2\\]:8444 -> blocked")
                    .contains("Done: the policy is in force for IPv4 and IPv6");
            Matcher node = Pattern.compile("--node-id (quickstart-qs\\d+)").matcher(out);
            assertThat(node.find()).as("the script names its node:\n%s", out).isTrue();
            String id = node.group(1).substring("quickstart-".length());
            assertThat(Sh.run("ip", "netns", "list").stdout()).as("namespaces left behind").doesNotContain("nf-" + id);
            assertThat(commandLines()).as("processes left behind").noneMatch(c -> c.contains(node.group(1)));
        }
    }

    /** Every running process's command line, from /proc (no dependency on ps). */
    private static List<String> commandLines() throws java.io.IOException {
        try (var entries = Files.list(Path.of("/proc"))) {
            return entries.filter(e -> e.getFileName().toString().matches("\\d+")).map(e -> {
                try {
                    return new String(Files.readAllBytes(e.resolve("cmdline")), StandardCharsets.UTF_8).replace('\0', ' ');
                } catch (java.io.IOException gone) {
                    return "";
                }
            }).toList();
        }
    }

    private static String runQuickstart(Path log) throws Exception {
        Process p = new ProcessBuilder(List.of(Path.of("scripts/quickstart.sh").toAbsolutePath().toString(),
                "--skip-build", "--classpath", System.getProperty("java.class.path")))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroy(); // SIGTERM: the script's trap removes what it started
            p.waitFor(1, TimeUnit.MINUTES);
        }
        String out = Files.readString(log, StandardCharsets.UTF_8).replaceAll("\u001b\\[[0-9;]*m", "");
        assertThat(p.isAlive()).as("still running after 5 minutes:\n%s", out).isFalse();
        assertThat(p.exitValue()).as("exit code; output:\n%s", out).isZero();
        return out;
    }
}
