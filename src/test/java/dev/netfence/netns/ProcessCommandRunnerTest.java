package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The real runner: argv without a shell, stdin, both outputs, timeouts, missing binaries. */
class ProcessCommandRunnerTest {
    private final ProcessCommandRunner runner = new ProcessCommandRunner();

    @Test
    void stdinReachesTheProgramAndBothOutputsComeBack() throws Exception {
        CommandResult r = runner.run(List.of("sh", "-c", "cat; echo oops >&2; exit 3"),
                "hello $(id) ;\n".getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(10));

        assertThat(r.exitCode()).isEqualTo(3);
        assertThat(r.stdout()).isEqualTo("hello $(id) ;\n");
        assertThat(r.stderr()).isEqualTo("oops\n");
    }

    @Test
    void argumentsAreNeverInterpretedByAShell() throws Exception {
        CommandResult r = runner.run(List.of("echo", "$(id)", ";", "`true`"), new byte[0], Duration.ofSeconds(10));

        assertThat(r.stdout()).isEqualTo("$(id) ; `true`\n");
    }

    @Test
    void largeOutputOnBothStreamsDoesNotDeadlock() throws Exception {
        CommandResult r = runner.run(List.of("sh", "-c", "head -c 1000000 /dev/zero; head -c 1000000 /dev/zero >&2"),
                new byte[0], Duration.ofSeconds(30));

        assertThat(r.stdout()).hasSize(1_000_000);
        assertThat(r.stderr()).hasSize(1_000_000);
    }

    @Test
    void aProgramPastItsTimeoutIsKilled() {
        assertThatThrownBy(() -> runner.run(List.of("sleep", "30"), new byte[0], Duration.ofMillis(200)))
                .isInstanceOf(CommandTimeoutException.class).hasMessageContaining("sleep 30");
    }

    @Test
    void aMissingBinaryIsAnIoException() {
        assertThatThrownBy(() -> runner.run(List.of("netfence-no-such-binary"), new byte[0], Duration.ofSeconds(5)))
                .isInstanceOf(IOException.class);
    }

    @Test
    void aProgramThatWritesMoreThanTheCapIsKilledAndItsRunFails() {
        long started = System.nanoTime();
        assertThatThrownBy(() -> runner.run(List.of("sh", "-c", "exec cat /dev/zero"), new byte[0], Duration.ofSeconds(60)))
                .isInstanceOf(IOException.class)
                .hasMessage("sh (sh -c exec cat /dev/zero) wrote more than 16777216 bytes to stdout and was killed");
        assertThat(Duration.ofNanos(System.nanoTime() - started)).as("killed, not waited out").isLessThan(Duration.ofSeconds(30));
    }

    @Test
    void outputUpToTheCapIsKeptWhole() throws Exception {
        CommandResult r = runner.run(List.of("head", "-c", Integer.toString(ProcessCommandRunner.MAX_OUTPUT), "/dev/zero"),
                new byte[0], Duration.ofSeconds(30));

        assertThat(r.exitCode()).isZero();
        assertThat(r.stdout()).hasSize(ProcessCommandRunner.MAX_OUTPUT);
    }
}
