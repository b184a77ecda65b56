package dev.netfence.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.netns.NamespaceId;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The podman kit itself: real containers with the identity tests rely on, reachable, recorded, and gone afterwards. */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PodmanContainersTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    private static final List<String> startedInFirstTest = new java.util.ArrayList<>();

    @Test
    @Order(1)
    void aSandboxAndAPeerAreRealContainersThatTalkOverThePodmanBridgeAndTheKitRemovesThem() throws Exception {
        PodmanContainer peer = PODMAN.peer(8080);
        PodmanContainer sandbox = PODMAN.sandbox();
        startedInFirstTest.addAll(List.of(peer.name(), sandbox.name()));

        for (PodmanContainer c : List.of(peer, sandbox)) {
            assertThat(c.name()).matches("nf-[0-9a-f]{8}-(peer|sandbox)");
            assertThat(c.id()).matches("[0-9a-f]{64}");
            assertThat(c.pid()).isGreaterThan(1);
            assertThat(c.cgroup()).contains("libpod-" + c.id());
            assertThat(c.ipv4()).startsWith("10.88.");
            assertThat(c.sandboxKey().toString()).startsWith("/run/netns/");
            assertThat(NamespaceId.of(c.sandboxKey()))
                    .isEqualTo(NamespaceId.of(Path.of("/proc", Integer.toString(c.pid()), "ns/net")));
        }
        assertThat(peer.ipv4()).isNotEqualTo(sandbox.ipv4());

        Agent probe = sandbox.agent();
        assertThat(probe.send("tcp " + peer.ipv4() + " 8080 3000")).isEqualTo("OK");
        assertThat(probe.send("tcp " + peer.ipv4() + " 8081 3000")).isEqualTo("REFUSED");

        Agent recorder = peer.agent();
        assertThat(recorder.send("listen tcp 7300")).isEqualTo("OK");
        assertThat(recorder.send("listen udp 7300")).isEqualTo("OK");
        assertThat(recorder.send("seen 7300")).isEqualTo("NONE");
        assertThat(probe.send("tcp " + peer.ipv4() + " 7300 3000")).isEqualTo("OK");
        assertThat(probe.send("udp " + peer.ipv4() + " 7300 3000")).isEqualTo("OK");
        // in the order the recorder's threads took them, which a loaded machine can swap; the TCP one
        // is recorded by the accept thread after the handshake the probe saw, so possibly after this
        // question: waited for
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).untilAsserted(() -> assertThat(
                recorder.send("seen 7300").split(" ")).containsExactlyInAnyOrder("tcp/" + sandbox.ipv4(),
                "udp/" + sandbox.ipv4()));

        sandbox.remove();
        assertThat(Sh.run("podman", "container", "exists", sandbox.name()).exitCode()).isEqualTo(1);
        assertThat(Sh.run("podman", "container", "exists", peer.name()).exitCode()).isZero();
        sandbox.remove();
    }

    @Test
    @Order(2)
    void containersOfAnEarlierTestAreGoneByTheNextOne() {
        assertThat(startedInFirstTest).hasSize(2);
        for (String name : startedInFirstTest) {
            assertThat(Sh.run("podman", "container", "exists", name).exitCode()).as(name).isEqualTo(1);
        }
    }
}
