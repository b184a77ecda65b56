package dev.netfence.enforce;

import static dev.netfence.enforce.ForeignSourceKernelTest.FORBIDDEN_PORT;
import static dev.netfence.enforce.ForeignSourceKernelTest.FORGE;
import static dev.netfence.enforce.ForeignSourceKernelTest.PYTHON;
import static dev.netfence.enforce.ForeignSourceKernelTest.WORKLOAD_PORT;
import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import dev.netfence.testkit.Sh;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link ForeignSourceKernelTest}'s forgery in a real podman container (netavark bridge, the
 * cgroup check on, the default backend, in-namespace rules only, as `netfence apply` or a node
 * without the host guard leaves it): what a process of the container holding CAP_NET_RAW could do
 * (Docker's default capability set holds it; podman's does not, so the probe runs as root from
 * the host inside the container's namespace), binding {@code IP_TRANSPARENT} to the peer
 * container's address and sending to its own, over IPv4 (podman's default bridge has no IPv6;
 * the unprivileged IPv6 form is {@link ForeignSourceKernelTest}'s); the peer container's receiver
 * must never see the workload's datagram afterwards. And the mirror image, into the sandbox,
 * unprivileged over the containers' link-local IPv6 addresses.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class ForeignSourcePodmanTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    @TempDir
    Path dir;

    @Test
    void aPodmanWorkloadCannotForgeAnEstablishedFlowToThePeerThroughLoopbackOnceApplied() throws Exception {
        PodmanContainer peer = PODMAN.peer(8080);
        PodmanContainer sandbox = PODMAN.sandbox();
        List<String> intoPeer = List.of("nsenter", "-t", String.valueOf(peer.pid()), "-n");

        Path control = dir.resolve("seen-before");
        try (ForeignSourceKernelTest.Receiver r = ForeignSourceKernelTest.Receiver.start(intoPeer, "4", control)) {
            assertThat(forge(sandbox, peer)).as("the probe works before the apply").contains("REPLY echo-through");
        }
        assertThat(Files.readString(control)).contains(sandbox.ipv4() + " through");

        EnforcementResult applied = apply(sandbox, peer);
        assertThat(applied.status()).as("%s", applied).isEqualTo("applied");
        Path seen = dir.resolve("seen-after");
        String result;
        try (ForeignSourceKernelTest.Receiver r = ForeignSourceKernelTest.Receiver.start(intoPeer, "4", seen)) {
            result = forge(sandbox, peer);
        }
        assertThat(result).doesNotContain("REPLY echo");
        assertThat(seen).as("the peer container saw nothing from the workload").doesNotExist();
        assertThat(sandbox.agent().send("tcp " + peer.ipv4() + " 8080 2000")).as("what the policy allows").isEqualTo("OK");
    }

    /**
     * The other direction, unprivileged ({@link ForeignSourceKernelTest}'s in-bound probe): the
     * workload (uid 65534, no capabilities) connects a UDP socket from its container's link-local
     * address (podman's default bridge has no other IPv6) and port X to the same address and port Y;
     * the peer container on the bridge forges datagrams from that address and Y to X. Before the
     * apply they arrive; after it, none.
     */
    @Test
    void aPeerContainerCannotStreamIntoThePodmanSandboxAsTheReplyOfAFlowTheWorkloadOpenedToItself() throws Exception {
        PodmanContainer peer = PODMAN.peer(8080);
        PodmanContainer sandbox = PODMAN.sandbox();
        String own = linkLocal(sandbox);
        // the peer's own link-local address must be past duplicate detection too: while it is
        // tentative the peer's kernel sends no neighbour solicitation for a source it does not own
        // (the forged one), and the datagrams wait in the neighbour queue, or are dropped
        linkLocal(peer);
        List<String> workload = List.of("nsenter", "-t", String.valueOf(sandbox.pid()), "-n", "setpriv", "--reuid=65534",
                "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all");
        List<String> intoPeer = List.of("nsenter", "-t", String.valueOf(peer.pid()), "-n");
        assertThat(ForeignSourceKernelTest.selfFlowReceives(workload, intoPeer, own)).as("before the apply")
                .contains("GOT from-peer");

        EnforcementResult applied = apply(sandbox, peer);
        assertThat(applied.status()).as("%s", applied).isEqualTo("applied");

        assertThat(ForeignSourceKernelTest.selfFlowReceives(workload, intoPeer, own)).as("after it").doesNotContain("GOT");
    }

    /** The link-local IPv6 address of the container's {@code eth0}, once its duplicate address detection is done. */
    static String linkLocal(PodmanContainer container) {
        String[] shown = new String[1];
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> {
            shown[0] = Sh.ok("nsenter", "-t", String.valueOf(container.pid()), "-n", "ip", "-6", "-o", "addr", "show",
                    "dev", "eth0", "scope", "link");
            return shown[0].contains("fe80::") && !shown[0].contains("tentative");
        });
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("inet6 (fe80::[0-9a-f:]+)/64").matcher(shown[0]);
        assertThat(m.find()).as("a link-local address on the container's eth0: %s", shown[0]).isTrue();
        return m.group(1);
    }

    private static EnforcementResult apply(PodmanContainer sandbox, PodmanContainer peer) {
        return SandboxEnforcement.enforce(sandbox, "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\""
                + peer.ipv4() + ":8080\"],\"dns\":false,\"outbound\":false,\"inbound\":false}");
    }

    /** The forgery from inside the sandbox container's namespace with IP_TRANSPARENT (CAP_NET_RAW). */
    private static String forge(PodmanContainer sandbox, PodmanContainer peer) {
        return Sh.run("nsenter", "-t", String.valueOf(sandbox.pid()), "-n", PYTHON, "-c", FORGE, "4", sandbox.ipv4(),
                peer.ipv4(), String.valueOf(FORBIDDEN_PORT), String.valueOf(WORKLOAD_PORT), "1").stdout();
    }
}
