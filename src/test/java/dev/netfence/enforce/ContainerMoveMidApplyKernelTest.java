package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.CommandResult;
import dev.netfence.netns.CommandRunner;
import dev.netfence.netns.CommandTimeoutException;
import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
import dev.netfence.testkit.ExitedLeader;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.Sh;
import dev.netfence.testkit.TestCgroup;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A container whose process moves into a network namespace of its own while its rules are being
 * written (a workload that waits for its rules to land, then unshares) is reported
 * {@code failed} / NAMESPACE_MISMATCH, not {@code skipped} / CONTAINER_NOT_FOUND as a container
 * that exited: it still runs, and a skipped container is forgotten, so no policy change or repair
 * would reach it. The "container" is a shell in a scratch {@code ip netns} that execs
 * {@code unshare --net sleep} on SIGUSR1; a decorator around the real command runner sends the
 * signal right before the verifying read-back (the iptables backend, whose steps are commands) and
 * waits until the process is in its new namespace.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class ContainerMoveMidApplyKernelTest {
    /**
     * Without a container id, and with one (a {@code libpod-<id>} cgroup, the cgroup check on) whose
     * second process stays in the namespace left: that namespace is then quarantined through it.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aProcessThatMovesWhileItsRulesAreWrittenIsAMismatchNotAContainerGone(boolean withId) throws Exception {
        byte[] b = new byte[32];
        new SecureRandom().nextBytes(b);
        String id = HexFormat.of().formatHex(b);
        String ns = "nf58m-" + id.substring(0, 8);
        Sh.ok("ip", "netns", "add", ns);
        Process container = null;
        Process witness = null;
        try (TestCgroup cgroup = withId ? TestCgroup.create("libpod-" + id) : null) {
            Sh.ok("ip", "-n", ns, "link", "add", "v0", "type", "veth", "peer", "name", "v1");
            container = new ProcessBuilder("ip", "netns", "exec", ns, "sh", "-c",
                    "trap 'exec unshare --net sleep infinity' USR1; while :; do sleep 0.05; done")
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            NamespaceId runtimes = NamespaceId.of(Path.of("/run/netns", ns));
            awaitIn(container.pid(), runtimes, true);
            if (cgroup != null) {
                cgroup.add(container.pid());
                witness = new ProcessBuilder("ip", "netns", "exec", ns, "sleep", "infinity").start();
                awaitIn(witness.pid(), runtimes, true);
                cgroup.add(witness.pid());
            }
            long pid = container.pid();
            SteppingRunner runner = new SteppingRunner(() -> {
                Sh.ok("kill", "-USR1", Long.toString(pid));
                awaitIn(pid, runtimes, false);
            });

            EnforcementResult result = new DefaultEnforcer(EnforcerConfig.custom().backend(BackendChoice.IPTABLES_NFT)
                    .cgroupCheck(withId).backoff(Duration.ofMillis(10), Duration.ofMillis(50)).build(), runner,
                    Clock.systemUTC(), new SimpleMeterRegistry())
                    .enforce(new EnforcementRequest(withId ? id : null, withId ? "podman" : null, (int) container.pid(),
                            policy(), Clock.systemUTC().instant().plusSeconds(20)));

            assertThat(runner.done.get()).as("the process moved before the read-back").isTrue();
            assertThat(container.isAlive()).isTrue();
            assertThat(result.status()).as("%s", result).isEqualTo("failed");
            assertThat(result.error().code()).isEqualTo("NAMESPACE_MISMATCH");
            assertThat(result.error().message()).contains("left network namespace inode " + runtimes.inode());
            if (withId) {
                assertThat(result.quarantined()).as("the namespace left, through the witness").isTrue();
                assertThat(result.target().netnsInode()).isEqualTo(runtimes.inode());
                assertThat(Sh.ok("ip", "netns", "exec", ns, "iptables-nft-save")).as("the quarantine, not the policy")
                        .containsIgnoringCase("netfence").doesNotContain("198.18.0.9");
            }
        } finally {
            for (Process p : new Process[] {container, witness}) {
                if (p != null) {
                    p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
            Sh.run("ip", "netns", "del", ns);
        }
    }

    /**
     * Not a move: the process's main thread exits mid-apply ({@code pthread_exit}, no capability
     * needed) while another thread lives on in the namespace; the pin's confirmation path is gone
     * with the leader, but the process is there, so the rules written are in force: applied.
     */
    @Test
    void aProcessWhoseMainThreadExitsWhileItsRulesAreWrittenIsStillApplied() throws Exception {
        byte[] b = new byte[4];
        new SecureRandom().nextBytes(b);
        String ns = "nf58m-" + HexFormat.of().formatHex(b);
        Sh.ok("ip", "netns", "add", ns);
        try {
            Sh.ok("ip", "-n", ns, "link", "add", "v0", "type", "veth", "peer", "name", "v1");
            try (ExitedLeader workload = ExitedLeader.startIn(ns)) {
                SteppingRunner runner = new SteppingRunner(workload::exitLeader);

                EnforcementResult result = new DefaultEnforcer(EnforcerConfig.custom()
                        .backend(BackendChoice.IPTABLES_NFT).backoff(Duration.ofMillis(10), Duration.ofMillis(50))
                        .build(), runner, Clock.systemUTC(), new SimpleMeterRegistry())
                        .enforce(new EnforcementRequest(null, null, workload.pid(), policy(),
                                Clock.systemUTC().instant().plusSeconds(20)));

                assertThat(runner.done.get()).as("the leader exited before the read-back").isTrue();
                assertThat(result.status()).as("%s", result).isEqualTo("applied");
                assertThat(result.target().netnsInode()).isEqualTo(NamespaceId.of(Path.of("/run/netns", ns)).inode());
            }
        } finally {
            Sh.run("ip", "netns", "del", ns);
        }
    }

    private static NetworkPolicy policy() {
        String json = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.18.0.9:443\"],"
                + "\"dns\":false,\"outbound\":false,\"inbound\":false}";
        return new PolicyParser().parse(json.getBytes(StandardCharsets.UTF_8));
    }

    /** Waits until process {@code pid} is ({@code in}) or is no longer in {@code netns}. */
    private static void awaitIn(long pid, NamespaceId netns, boolean in) throws Exception {
        for (int i = 0; i < 400; i++) {
            try {
                if (NamespaceId.of(Path.of("/proc/" + pid + "/ns/net")).equals(netns) == in) {
                    return;
                }
            } catch (IOException notYet) {
                // starting
            }
            Thread.sleep(10);
        }
        throw new IllegalStateException("process " + pid + (in ? " did not enter " : " did not leave ") + netns);
    }

    /** What the runner does to the container right before the verifying read-back. */
    @FunctionalInterface
    private interface Step {
        void run() throws Exception;
    }

    /** The real runner; runs {@code step} once, right before the first read-back after both restores. */
    private static final class SteppingRunner implements CommandRunner {
        private final ProcessCommandRunner real = new ProcessCommandRunner();
        private final Step step;
        private int restores;
        final AtomicBoolean done = new AtomicBoolean();

        SteppingRunner(Step step) {
            this.step = step;
        }

        @Override
        public synchronized CommandResult run(List<String> argv, byte[] stdin, Duration timeout)
                throws IOException, CommandTimeoutException, InterruptedException {
            if (argv.stream().anyMatch(a -> a.endsWith("-restore"))) {
                restores++;
            } else if (restores == 2 && !done.get() && argv.stream().anyMatch(a -> a.endsWith("-save"))) {
                try {
                    step.run();
                } catch (IOException | InterruptedException e) {
                    throw e;
                } catch (Exception e) {
                    throw new IOException(e);
                }
                done.set(true);
            }
            return real.run(argv, stdin, timeout);
        }
    }
}
