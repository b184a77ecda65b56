package dev.netfence.kafka;

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
 * {@code scripts/chaos.sh} as a user runs it, in a tiny exactly-once configuration (2 sandboxes,
 * 20 events, 1 SIGKILL, 1 SIGTERM under load, 1 broker bounce, the send faults: a DLQ topic
 * refusing every dead letter, an oversized record): it must exit 0 and print a table with no lost
 * event, the refused dead letter held and then delivered, both poison records dead-lettered once
 * (the oversized one without value), exactly one committed outcome per event (no event with
 * two, no outcome naming an unpublished event; the reconciler's outcomes, which have no eventId,
 * counted apart), right final rules in both sandboxes and an unchanged host ruleset, and leave
 * none of its namespaces or its temp dir behind. Runs with Failsafe after {@code package} (it
 * uses the built jar and this run's test classpath, so the script builds nothing); needs root
 * like the other kernel tests.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class ChaosScriptIT {
    @TempDir
    Path dir;

    @Test
    void theChaosScriptLosesNoEventAndLeavesTheLastPolicyInForce() throws Exception {
        Path log = dir.resolve("chaos.log");
        Process p = new ProcessBuilder(List.of(Path.of("scripts/chaos.sh").toAbsolutePath().toString(),
                "--skip-build", "--classpath", System.getProperty("java.class.path"),
                "--mode", "exactly-once", "--sandboxes", "2", "--events", "20", "--kills", "1", "--timeout", "120"))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(10, TimeUnit.MINUTES)) {
            p.destroy(); // SIGTERM: the script's trap cleans up what it started
            p.waitFor(2, TimeUnit.MINUTES);
        }
        String out = Files.readString(log, StandardCharsets.UTF_8).replaceAll("\u001b\\[[0-9;]*m", "");

        assertThat(p.isAlive()).as("the script is still running after 12 minutes:\n%s", out).isFalse();
        assertThat(p.exitValue()).as("exit code; output:\n%s", out).isZero();
        assertThat(out).as("the chaos really happened")
                .contains("SIGKILL 1 of 1: netfence run 1 (pid")
                .contains("SIGTERM under load: netfence run 2 (pid")
                .containsPattern("broker pid \\d+ back at 127\\.0\\.0\\.1:\\d+ with the same data")
                .contains("netfence ready again without operator action");
        assertThat(out).containsPattern("(?m)^\\s*events published\\s+20\\s*$")
                .containsPattern("(?m)^\\s*SIGTERM under load \\(must exit 0\\)\\s+exit 0 after \\d+ s\\s*$")
                .containsPattern("(?m)^\\s*events with >= 1 outcome\\s+20\\s*$")
                .containsPattern("(?m)^\\s*events with exactly 1 committed outcome\\s+20\\s*$")
                .containsPattern("(?m)^\\s*events with 2\\+ committed outcomes \\(EOS: 0\\)\\s+0\\s*$")
                .containsPattern("(?m)^\\s*of published events \\(by eventId\\)\\s+20\\s*$")
                .containsPattern("(?m)^\\s*naming an unpublished eventId \\(must be 0\\)\\s+0\\s*$")
                .containsPattern("(?m)^\\s*events lost \\(must be 0\\)\\s+0\\s*$")
                .containsPattern("(?m)^\\s*namespaces with wrong final rules \\(must be 0\\)\\s+0\\s*$")
                .containsPattern("(?m)^\\s*held while the DLQ refused it \\(must be yes\\)\\s+yes\\s*$")
                .containsPattern("(?m)^\\s*dead letters of the 2 poison records\\s+2 \\(oversized w/o value: 1\\)\\s*$")
                .containsPattern("(?m)^\\s*host ruleset changed \\(must be no\\)\\s+no\\s*$")
                .containsPattern("(?m)^\\s*verdict\\s+PASS\\s*$");

        Matcher sandbox = Pattern.compile("sandboxes (\\S+)-s0 \\.\\. ").matcher(out);
        assertThat(sandbox.find()).as("the script names its sandboxes:\n%s", out).isTrue();
        assertThat(Sh.run("ip", "netns", "list").stdout()).as("namespaces left behind").doesNotContain(sandbox.group(1));
        Matcher work = Pattern.compile("removed (/tmp/netfence-chaos\\.\\S+)").matcher(out);
        assertThat(work.find()).as("the script reports removing its temp dir:\n%s", out).isTrue();
        assertThat(Path.of(work.group(1))).doesNotExist();
    }
}
