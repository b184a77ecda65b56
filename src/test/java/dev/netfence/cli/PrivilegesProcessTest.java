package dev.netfence.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import dev.netfence.testkit.SandboxNet;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * netfence without CAP_SYS_PTRACE (as Docker's default capability set plus SYS_ADMIN and NET_ADMIN
 * leaves it) cannot open {@code /proc/PID/ns/net} of a container process running as another user
 * (or one that made itself non-dumpable, or holds a capability netfence lacks), so it could never
 * write such a container's policy nor its quarantine: the workload decided. {@code netfence apply}
 * and {@code netfence run} now refuse to start without it, naming it; with it, the same process is
 * applied, in a namespace of the test's own (a process of another user) and in a real podman
 * container (a process holding a capability netfence lacks).
 * Runs netfence as a child process under {@code setpriv}, which drops the capability from
 * its bounding and inheritable sets (so from the effective set of the exec'd java).
 */
@ExtendWith({MachineLock.class, KernelTests.class})
class PrivilegesProcessTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    private static final int ALLOWED = 8111;

    private SandboxNet net;
    private final List<Process> started = new ArrayList<>();
    private Path policy;

    @BeforeEach
    void createSandbox() throws Exception {
        net = SandboxNet.create();
        policy = Files.createTempFile("nf-policy-", ".json");
        Files.writeString(policy, "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"" + net.peerV4() + ":"
                + ALLOWED + "\"],\"dns\":false,\"outbound\":false,\"inbound\":false}");
    }

    @AfterEach
    void cleanUp() throws Exception {
        for (Process p : started) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        if (policy != null) {
            Files.deleteIfExists(policy);
        }
        if (net != null) {
            net.close();
        }
    }

    @Test
    void applyWithoutSysPtraceRefusesToStartAndWithItAppliesToAProcessOfAnotherUser() throws Exception {
        long pid = otherUsersProcess();

        Result without = netfence(true, "apply", "--policy", policy.toString(), "--pid", Long.toString(pid), "--backend", "nft");
        Result with = netfence(false, "apply", "--policy", policy.toString(), "--pid", Long.toString(pid), "--backend", "nft");

        assertThat(without.exit()).as(without.output()).isEqualTo(Main.RUNTIME_FAILURE);
        assertThat(without.output()).contains("netfence apply: netfence lacks CAP_SYS_PTRACE (")
                .doesNotContain("CAP_SYS_ADMIN (").doesNotContain("\"status\"");
        assertThat(with.exit()).as(with.output()).isZero();
        assertThat(with.output()).contains("\"status\" : \"applied\"");
    }

    @Test
    void aPodmanContainerHoldingACapabilityNetfenceLacksIsAppliedWithSysPtraceAndApplyRefusesToStartWithout()
            throws Exception {
        // its process holds CAP_SYS_PTRACE, which netfence under setpriv does not: without it the kernel refuses its ns/net
        PodmanContainer sandbox = PODMAN.sandbox(List.of("--cap-add", "SYS_PTRACE"));
        String[] apply = {"apply", "--policy", policy.toString(), "--pid", Integer.toString(sandbox.pid()),
            "--container-id", sandbox.id(), "--netns", sandbox.sandboxKey().toString(), "--backend", "nft"};

        Result without = netfence(true, apply);
        Result with = netfence(false, apply);

        assertThat(without.exit()).as(without.output()).isEqualTo(Main.RUNTIME_FAILURE);
        assertThat(without.output()).contains("netfence apply: netfence lacks CAP_SYS_PTRACE (")
                .doesNotContain("\"status\"");
        assertThat(with.exit()).as(with.output()).isZero();
        assertThat(with.output()).contains("\"status\" : \"applied\"");
    }

    @Test
    void runWithoutSysPtraceRefusesToStartBeforeItReachesTheBroker() throws Exception {
        Result without = netfence(true, "run", "--node-id", "n1", "--bootstrap-servers", "127.0.0.1:9", "--http-port", "0");

        assertThat(without.exit()).as(without.output()).isEqualTo(Main.RUNTIME_FAILURE);
        assertThat(without.output()).contains("netfence run: cannot start: netfence lacks CAP_SYS_PTRACE (");
    }

    /** A process inside the sandbox namespace running as nobody: another uid than netfence's. */
    private long otherUsersProcess() throws Exception {
        Process p = new ProcessBuilder("ip", "netns", "exec", net.containerNs(), "setpriv", "--reuid=65534",
                "--regid=65534", "--clear-groups", "sleep", "600").redirectErrorStream(true).start();
        started.add(p);
        for (int i = 0; i < 400; i++) {
            try {
                if (Files.readString(Path.of("/proc/" + p.pid() + "/cmdline")).startsWith("sleep")) {
                    return p.pid();
                }
            } catch (java.io.IOException notYet) {
                // starting
            }
            Thread.sleep(10);
        }
        throw new IllegalStateException("process " + p.pid() + " did not start sleep");
    }

    private record Result(int exit, String output) {}

    /** netfence's Main in a child JVM, with or without CAP_SYS_PTRACE; its stdout and stderr together. */
    private Result netfence(boolean dropPtrace, String... args) throws Exception {
        List<String> argv = new ArrayList<>();
        if (dropPtrace) {
            argv.addAll(List.of("setpriv", "--inh-caps=-sys_ptrace", "--bounding-set=-sys_ptrace", "--"));
        }
        argv.addAll(List.of(ProcessHandle.current().info().command().orElse("java"), "-cp",
                System.getProperty("java.class.path"), "dev.netfence.cli.Main"));
        argv.addAll(List.of(args));
        Path log = Files.createTempFile("nf-privileges-", ".log");
        try {
            Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            started.add(p);
            boolean exited = p.waitFor(60, TimeUnit.SECONDS);
            String out = Files.readString(log, StandardCharsets.UTF_8);
            assertThat(exited).as("netfence exited within 60 s (a run that starts keeps running): %s", out).isTrue();
            return new Result(p.exitValue(), out);
        } finally {
            Files.deleteIfExists(log);
        }
    }
}
