package dev.netfence.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.event.Outcome;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import dev.netfence.testkit.Sh;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code netfence run} against a real podman container its runtime restarts under the same id with
 * no event ({@code podman restart}: a new pid, a new namespace and veth, the old namespace's bind
 * path removed), the container's event having named the runtime's path of its namespace
 * ({@code NetworkSettings.SandboxKey}): the first resync after it applies the task's policy in the
 * new namespace, host guard included; and where a process of the container sits, with a lower pid
 * than the new init, in a namespace it made for itself (a user namespace of its own, an interface
 * in it: what a workload that lets its runtime restart it and wraps the pids around can arrange),
 * the policy still goes to the runtime's namespace and never into that one; and where every process
 * of the container left the runtime's new namespace and only a socket one of them holds is there,
 * that namespace is quarantined through the runtime's path. Resyncs an hour
 * apart, netfence started again after the restart so that its first resync finds it. The host
 * ruleset outside netfence's table never changes (HostRulesetGuard).
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class RuntimeRestartPodmanTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    private ServiceTopics topics;
    private RunService service;

    @BeforeEach
    void startService() throws Exception {
        topics = new ServiceTopics("restart");
        topics.putPolicy("task-restart", "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":"
                + "[\"10.88.0.1:8080\"],\"dns\":false}");
        start();
    }

    /** Resyncs an hour apart: none between the restart's stop and start, which would find the container gone. */
    private void start() throws Exception {
        service = topics.start(List.of("--host-guard", "auto", "--resync-interval", "1h", "--shutdown-timeout", "5s"),
                new SimpleMeterRegistry());
    }

    @AfterEach
    void stopService() {
        if (topics != null) {
            topics.close(); // the service too
        }
    }

    @Test
    void aContainerItsRuntimeRestartsWithNoEventGetsItsPolicyAndHostGuardInItsNewNamespaceAtTheNextResync()
            throws Exception {
        PodmanContainer after = restartedAfterItsStart("ev-r", null);

        Outcome applied = topics.awaitOutcome(o -> after.id().equals(o.containerId()) && "applied".equals(o.status())
                && "drift".equals(o.trigger())); // at the event it was applied with no trigger
        assertThat(applied.guards()).containsExactly("netns", "host");
        assertThat(rulesIn(after.pid())).as("its rules in the new namespace").contains("10.88.0.1");
        assertThat(outcomesOf(after)).as("never taken for a move").doesNotContain("failed");
    }

    @Test
    void aProcessOfTheContainerInANamespaceOfItsOwnWithALowerPidDoesNotGetThePolicyTheRuntimesNewNamespaceDoes()
            throws Exception {
        // made before the restart, so its pid is lower than the new init's; an interface of its own, so it is not
        // refused as a namespace with only lo; a user namespace of its own owns it, as a workload's would
        // (a pid namespace of its own too, as the workload's would be: its init, the process netfence follows)
        Process unshare = new ProcessBuilder("unshare", "-Urnpf", "sh", "-c",
                "ip link add d0 type veth peer name d1 && exec sleep 3600").redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            long decoy = await().atMost(Duration.ofSeconds(10)).until(() -> unshare.children().findFirst()
                    .map(ProcessHandle::pid).filter(pid -> Sh.run("nsenter", "-t", Long.toString(pid), "-n", "ip", "link",
                            "show", "d0").ok()).orElse(null), pid -> pid != null);
            PodmanContainer after = restartedAfterItsStart("ev-d", decoy);
            assertThat(decoy).isLessThan(after.pid());

            Outcome applied = topics.awaitOutcome(o -> after.id().equals(o.containerId()) && "applied".equals(o.status())
                    && "drift".equals(o.trigger()));
            // the decoy, a thread of the container in a user namespace of its own, shows full capability sets and is
            // counted (conservative, see ContainerCapabilities): a risk, so no host guard is claimed
            assertThat(applied.risks()).contains("CAP_NET_ADMIN");
            assertThat(applied.guards()).containsExactly("netns");
            assertThat(rulesIn(after.pid())).as("the rules in the runtime's new namespace").contains("10.88.0.1");
            assertThat(Sh.run("nsenter", "-t", Long.toString(decoy), "-n", "nft", "list", "table", "inet",
                    "netfence").ok()).as("nothing written into the workload's own namespace").isFalse();
        } finally {
            unshare.children().forEach(ProcessHandle::destroyForcibly); // the decoy, started by this test
            unshare.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aRestartedContainerWhoseProcessesAllLeftTheRuntimesNamespaceButASocketHasThatNamespaceFenced()
            throws Exception {
        // review 182: no process of the container in the runtime's new namespace, only a socket one of them holds
        // there (its init unshares at once, the holder made its socket there and then left): found through the socket
        String go = "/go-" + java.util.UUID.randomUUID();
        Path gate = dev.netfence.testkit.BusyboxRootfs.get().resolve(go.substring(1));
        Process holder = null;
        try {
            PodmanContainer sandbox = PODMAN.start("sandbox", List.of(), "/bin/sh", "-c", "while [ ! -e " + go
                    + " ]; do /bin/sleep 1; done; exec /bin/unshare -Urn /bin/sleep 3600");
            Files.createFile(gate); // from the restart on, the container's init leaves the runtime's namespace at once
            PodmanContainer after = restarted(sandbox, "ev-s");
            String runtimes = after.sandboxKey().toString();
            await().atMost(Duration.ofSeconds(10)).until(() -> !Sh.ok("readlink", "/proc/" + after.pid() + "/ns/net")
                    .equals(Sh.ok("nsenter", "--net=" + runtimes, "readlink", "/proc/self/ns/net")));
            holder = new ProcessBuilder("nsenter", "--net=" + runtimes, "--", dev.netfence.testkit.Python.EXE, "-c",
                    "import ctypes, socket, sys, time\n"
                    + "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', 0))\n"
                    + "assert ctypes.CDLL(None, use_errno=True).unshare(0x40000000) == 0\n" // CLONE_NEWNET
                    + "print('out', flush=True); time.sleep(3600)\n").redirectErrorStream(true).start();
            assertThat(new java.io.BufferedReader(new java.io.InputStreamReader(holder.getInputStream(),
                    StandardCharsets.UTF_8)).readLine()).isEqualTo("out");
            after.adopt(holder.pid());
            service.close(); // found by the first resync of a netfence started again
            start();

            // fenced there (the holder is not in it: its quarantine by the path); then, as its processes stay out of
            // it, reported as moved with what is in force kept
            Outcome fenced = topics.awaitOutcome(o -> after.id().equals(o.containerId()) && "drift".equals(o.trigger())
                    && o.quarantined());
            assertThat(fenced.error().code()).isEqualTo("NAMESPACE_MISMATCH");
            assertThat(Sh.run("nsenter", "--net=" + runtimes, "nft", "list", "table", "inet", "netfence").ok())
                    .as("netfence's table in the runtime's new namespace").isTrue();
        } finally {
            if (holder != null) {
                holder.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            Files.deleteIfExists(gate);
        }
    }

    @Test
    void aContainerWhosePolicyWasDeletedIsQuarantinedInTheNamespaceItsRuntimeRestartsItIn() throws Exception {
        // helper 182 #3: before, it was taken for a moved pid, its runtime's new namespace left with no rules at all
        PodmanContainer peer = PODMAN.peer(8080);
        topics.putPolicy("task-restart", "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":"
                + "[\"" + peer.ipv4() + ":8080\"],\"dns\":false}");
        PodmanContainer sandbox = PODMAN.sandbox();
        topics.sendEvent(startOf(sandbox, "ev-p"));
        assertThat(topics.awaitOutcome(o -> "ev-p".equals(o.eventId())).status()).isEqualTo("applied");
        topics.send(topics.policies, "task-restart", null); // deleted: quarantined where it runs
        topics.awaitOutcome(o -> sandbox.id().equals(o.containerId()) && o.quarantined());
        PodmanContainer after = PODMAN.restart(sandbox, List.of());
        // (its reach is no sign: the quarantine's host chain may bind the new veth of the same name, README)
        assertThat(tableIn(after.pid())).as("no rules in the runtime's new namespace before").isFalse();
        service.close(); // found by the first resync of a netfence started again
        start();

        await().atMost(Duration.ofSeconds(60)).until(() -> tableIn(after.pid()));
        assertThat(reaches(after.pid(), peer)).as("the restarted container reaches nothing").isFalse();
        assertThat(topics.outcomes().stream().filter(o -> sandbox.id().equals(o.containerId())).toList()).last()
                .satisfies(o -> {
                    assertThat(o.error().code()).isEqualTo("POLICY_NOT_FOUND");
                    assertThat(o.quarantined()).isTrue();
                });
    }

    private static boolean tableIn(int pid) {
        return Sh.run("nsenter", "-t", Integer.toString(pid), "-n", "nft", "list", "table", "inet", "netfence").ok();
    }

    private static boolean reaches(int pid, PodmanContainer peer) {
        return Sh.run("nsenter", "-t", Integer.toString(pid), "-n", "--", dev.netfence.testkit.Python.EXE, "-c",
                "import socket, sys; socket.create_connection((sys.argv[1], 8080), 2).close()", peer.ipv4())
                .exitCode() == 0;
    }

    /**
     * A sandbox started, enforced through a {@code container.started} naming its runtime's path,
     * restarted by podman with no event (with {@code adopted}, when not null, moved into its cgroup
     * right after), and netfence started again; the container as it runs after the restart.
     */
    private PodmanContainer restartedAfterItsStart(String eventId, Long adopted) throws Exception {
        PodmanContainer after = restarted(PODMAN.sandbox(), eventId);
        if (adopted != null) {
            after.adopt(adopted);
            assertThat(Files.readString(Path.of("/proc/" + adopted + "/cgroup"))).contains(after.id());
        }
        service.close(); // found by the first resync of a netfence started again, as at any resync after the restart
        start();
        return after;
    }

    /** {@code sandbox}, enforced through a {@code container.started} naming its runtime's path, then restarted by podman with no event. */
    private PodmanContainer restarted(PodmanContainer sandbox, String eventId) throws Exception {
        topics.sendEvent(startOf(sandbox, eventId));
        assertThat(topics.awaitOutcome(o -> eventId.equals(o.eventId())).status()).isEqualTo("applied");
        PodmanContainer after = PODMAN.restart(sandbox, List.of());
        assertThat(after.pid()).isNotEqualTo(sandbox.pid());
        assertThat(after.sandboxKey()).as("a new namespace, the old one's path removed").isNotEqualTo(sandbox.sandboxKey());
        assertThat(Files.exists(sandbox.sandboxKey())).isFalse();
        return after;
    }

    /** A {@code container.started} of {@code sandbox} naming its runtime's path. */
    private byte[] startOf(PodmanContainer sandbox, String eventId) {
        return ("{\"schemaVersion\":1,\"type\":\"container.started\",\"eventId\":\"" + eventId
                + "\",\"occurredAt\":\"" + Instant.now() + "\",\"nodeId\":\"" + topics.node + "\",\"taskId\":\"task-restart\","
                + "\"containerId\":\"" + sandbox.id() + "\",\"runtime\":\"podman\",\"netns\":\"" + sandbox.sandboxKey()
                + "\",\"pid\":" + sandbox.pid() + "}").getBytes(StandardCharsets.UTF_8);
    }

    private static String rulesIn(int pid) {
        return Sh.ok("nsenter", "-t", Integer.toString(pid), "-n", "nft", "list", "table", "inet", "netfence");
    }

    private List<String> outcomesOf(PodmanContainer c) {
        return topics.outcomes().stream().filter(o -> c.id().equals(o.containerId())).map(Outcome::status).toList();
    }
}
