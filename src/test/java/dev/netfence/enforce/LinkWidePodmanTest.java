package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.core.EnforcementResult;
import dev.netfence.testkit.Agent;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import java.io.IOException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Broadcast and multicast against real podman containers with the cgroup check on: a policy whose
 * own blocked list names the bridge's subnet (10.88.0.0/16) and leaves multicast and broadcast
 * out, outbound on, so the peer container is a host of a blocked subnet. Before the fifty-third
 * session the workload's datagrams to 255.255.255.255 and to the all-hosts group 224.0.0.1 still
 * reached the peer's listener across the bridge (attacker review 51a #3); now every plan rejects
 * them, while the literal endpoint the policy names on the peer stays the author's exception. And
 * where the list names only the bridge's gateway, a datagram to the bridge subnet's broadcast
 * address 10.88.255.255 reached every container of the bridge until the fifty-third session.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class LinkWidePodmanTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    private static final int LISTENER = 7400;
    private static final int ALLOWED = 7401;

    @Test
    void aPeerInsideTheBlockedBridgeSubnetHearsNoBroadcastOrGroupDatagramOfTheWorkload() throws Exception {
        PodmanContainer peer = PODMAN.start("listener", List.of(), "/bin/sleep", "3600");
        Agent recorder = listening(peer);
        PodmanContainer sandbox = PODMAN.sandbox();
        Agent probe = sandbox.agent();
        // without rules both reach the peer across the bridge: what it misses below is the policy's doing
        assertThat(linkWide(probe, sandbox)).containsOnly("OK");
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(seen(recorder, LISTENER)).hasSize(2));

        EnforcementResult result = apply(sandbox, "10.88.0.0/16", "\"allowedEndpoints\":[\"" + peer.ipv4() + ":" + ALLOWED
                + "/udp\"]");

        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        // the rules' drop fails each send at once (EPERM) where the kernel would otherwise have taken it
        assertThat(linkWide(probe, sandbox)).allMatch(r -> r.startsWith("ERROR"));
        assertThat(probe.send("send udp " + peer.ipv4() + " " + LISTENER + " " + sandbox.ipv4())).startsWith("ERROR");
        assertThat(probe.send("send udp " + peer.ipv4() + " " + ALLOWED + " " + sandbox.ipv4())).isEqualTo("OK");
        // the allowed datagram went last on the same bridge: once it arrived, so would have the others
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(seen(recorder, ALLOWED))
                .containsExactly("udp/" + sandbox.ipv4()));
        assertThat(seen(recorder, LISTENER)).as("the peer's listener after the apply").hasSize(2);
    }

    @Test
    void aPeerOnTheBridgeHearsNoDatagramToTheBridgeSubnetsBroadcastWhereTheListNamesOnlyTheGateway() throws Exception {
        PodmanContainer peer = PODMAN.start("listener", List.of(), "/bin/sleep", "3600");
        Agent recorder = listening(peer);
        PodmanContainer sandbox = PODMAN.sandbox();
        Agent probe = sandbox.agent();
        String bridgeBroadcast = "10.88.255.255";
        assertThat(probe.send("send udp " + bridgeBroadcast + " " + LISTENER + " " + sandbox.ipv4())).isEqualTo("OK");
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(seen(recorder, LISTENER)).hasSize(1));

        EnforcementResult result = apply(sandbox, sandbox.gateway() + "/32", "\"allowedEndpoints\":[]");

        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        assertThat(probe.send("send udp " + bridgeBroadcast + " " + LISTENER + " " + sandbox.ipv4())).startsWith("ERROR");
        assertThat(probe.send("send udp " + peer.ipv4() + " " + ALLOWED + " " + sandbox.ipv4()))
                .as("outbound is on: the peer's own address").isEqualTo("OK");
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(seen(recorder, ALLOWED))
                .containsExactly("udp/" + sandbox.ipv4()));
        assertThat(seen(recorder, LISTENER)).as("the peer's listener after the apply").hasSize(1);
    }

    /** A new agent of {@code peer} recording what reaches {@link #LISTENER} on its wildcard sockets and {@link #ALLOWED} on its address. */
    private static Agent listening(PodmanContainer peer) throws IOException {
        Agent recorder = peer.agent();
        assertThat(recorder.send("listen any " + LISTENER)).isEqualTo("OK");
        assertThat(recorder.send("listen udp " + ALLOWED)).isEqualTo("OK");
        return recorder;
    }

    /** A datagram to the limited broadcast and one to the all-hosts group, from the sandbox's address: what each send said. */
    private static List<String> linkWide(Agent probe, PodmanContainer sandbox) throws IOException {
        return List.of(probe.send("send udp 255.255.255.255 " + LISTENER + " " + sandbox.ipv4()),
                probe.send("send udp 224.0.0.1 " + LISTENER + " " + sandbox.ipv4()));
    }

    private static List<String> seen(Agent recorder, int port) throws IOException {
        String seen = recorder.send("seen " + port);
        return seen.equals("NONE") ? List.of() : Arrays.asList(seen.split(" "));
    }

    /** A policy blocking {@code blocked} (and 2001:db8::/32 of IPv6), outbound on, with {@code fields}. */
    private static EnforcementResult apply(PodmanContainer sandbox, String blocked, String fields) {
        return SandboxEnforcement.enforce(sandbox, "{\"schemaVersion\":1,\"mode\":\"bridge\"," + fields
                + ",\"blockedSubnets\":[\"" + blocked + "\",\"2001:db8::/32\"],\"dns\":false,\"outbound\":true,"
                + "\"inbound\":false}");
    }
}
