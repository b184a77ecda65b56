package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Asking runtimes for a pid: argv, pid 0 while starting or gone, a runtime that does not answer, unknown containers, hostile ids. */
class ContainerPidLookupTest {
    private final List<List<String>> ran = new ArrayList<>();
    private final Instant deadline = Instant.now().plusSeconds(30);

    private ContainerPidLookup answering(String... stdouts) {
        int[] next = {0};
        return new ContainerPidLookup((argv, stdin, timeout) -> {
            ran.add(argv);
            if (argv.get(0).equals("podman")) {
                throw new IOException("no podman");
            }
            String out = stdouts[Math.min(next[0]++, stdouts.length - 1)];
            return new CommandResult(argv, out == null ? 1 : 0, out, out == null ? "no such container" : "");
        }, Clock.systemUTC(), 3, Duration.ofMillis(1));
    }

    @Test
    void dockerIsAskedWithItsGoTemplate() {
        assertThat(answering("12345\n").pidOf("3f9a0c", "docker", deadline)).isEqualTo(12345);
        assertThat(ran).containsExactly(List.of("docker", "inspect", "-f", "{{.State.Pid}} {{.State.Status}}", "3f9a0c"));
    }

    @Test
    void crioAndContainerdAreAskedThroughCrictl() {
        answering("777").pidOf("abc", "crio", deadline);
        assertThat(ran.get(0)).containsExactly("crictl", "inspect", "--output", "go-template", "--template",
                "{{.info.pid}} {{.status.state}}", "abc");
    }

    @Test
    void withoutARuntimeMissingClisAreSkipped() {
        assertThat(answering("4242").pidOf("abc", null, deadline)).isEqualTo(4242);
        assertThat(ran.get(0).get(0)).isEqualTo("podman");
        assertThat(ran.get(1).get(0)).isEqualTo("docker");
    }

    @Test
    void pidZeroWhileStartingIsAskedAgainThenNotFound() {
        assertThat(answering("0", "0", "99").pidOf("abc", "docker", deadline)).isEqualTo(99);
        assertThatThrownBy(() -> answering("0").pidOf("abc", "docker", deadline))
                .isInstanceOfSatisfying(EnforcementException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.CONTAINER_NOT_FOUND));
    }

    @Test
    void aContainerTheRuntimeSaysWasCreatedWithoutAProcessIsNotFoundAfterAFewAsksNotWaitedForUntilTheDeadline() {
        // podman says "created" for a container made and never started, one whose start failed, and every container that
        // ran before the node rebooted: waited for until the deadline, each such event held a worker that long (review 209)
        assertThatThrownBy(() -> answering("0 created\n").pidOf("abc", "docker", deadline))
                .isInstanceOfSatisfying(EnforcementException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.CONTAINER_NOT_FOUND);
                    assertThat(e.getMessage()).isEqualTo("container abc has no running process (pid 0, status created)");
                });
        assertThat(ran).as("three asks, not until the deadline").hasSize(3);
    }

    @Test
    void aStoppedContainerWithPidZeroIsNotFoundAfterAFewAsks() {
        assertThatThrownBy(() -> answering("0 exited").pidOf("abc", "docker", deadline))
                .isInstanceOfSatisfying(EnforcementException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.CONTAINER_NOT_FOUND);
                    assertThat(e.getMessage()).isEqualTo("container abc has no running process (pid 0, status exited)");
                });
        assertThat(ran).hasSize(3);
    }

    @Test
    void aRuntimeThatDoesNotAnswerIsAskedAgainWithinTheDeadlineAndThenTimesOut() {
        List<Duration> timeouts = new ArrayList<>();
        int[] calls = {0};
        ContainerPidLookup lookup = new ContainerPidLookup((argv, stdin, timeout) -> {
            timeouts.add(timeout);
            if (calls[0]++ < 2) {
                throw new CommandTimeoutException(argv, timeout);
            }
            return new CommandResult(argv, 0, "555 running\n", "");
        }, Clock.systemUTC(), 3, Duration.ofMillis(1));
        assertThat(lookup.pidOf("abc", "podman", Instant.now().plusSeconds(3))).isEqualTo(555);
        assertThat(timeouts.get(0)).as("one ask is bounded by the time left").isLessThanOrEqualTo(Duration.ofSeconds(3));

        ContainerPidLookup silent = new ContainerPidLookup((argv, stdin, timeout) -> {
            throw new CommandTimeoutException(argv, timeout);
        }, Clock.systemUTC(), 3, Duration.ofMillis(1));
        assertThatThrownBy(() -> silent.pidOf("abc", null, Instant.now().plusMillis(100)))
                .isInstanceOfSatisfying(EnforcementException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.TIMEOUT);
                    assertThat(e.getMessage()).startsWith("the runtime did not say the pid of container abc before the"
                            + " event's deadline (crictl did not answer within 500 ms)");
                });
    }

    @Test
    void anUnknownContainerIsNotFound() {
        assertThatThrownBy(() -> answering((String) null).pidOf("abc", "docker", deadline))
                .isInstanceOfSatisfying(EnforcementException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.CONTAINER_NOT_FOUND));
    }

    @Test
    void anIdThatLooksLikeAnOptionNeverReachesAnArgv() {
        assertThatThrownBy(() -> answering("1").pidOf("--format=x", "docker", deadline))
                .isInstanceOf(EnforcementException.class);
        assertThat(ran).isEmpty();
    }
}
