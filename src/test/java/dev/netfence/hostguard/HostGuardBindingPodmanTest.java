package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import dev.netfence.testkit.Python;
import dev.netfence.testkit.Sh;
import java.io.IOException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The host guard's source binding against real podman containers: a workload holding
 * {@code CAP_NET_RAW} writes raw AF_PACKET frames from its own namespace that claim an identity
 * not its own, and the guard on its veth's ingress hook drops them before the bridge, the host or
 * a neighbour sees them. A UDP datagram to a host port the policy allows, with a forged source
 * address (an unused one of the container's own podman subnet, so that the host's reverse-path
 * check cannot be what drops it) or a forged Ethernet source; an ARP reply to the gateway whose
 * sender address is not the container's, or whose sender MAC is not its own for its own address
 * (what poisons the gateway's ARP cache), seen by an AF_PACKET listener on podman's bridge in the
 * host namespace. Every proof runs with {@code --host-guard auto} and with {@code off}: without
 * the guard the forged frame arrives, which shows each proof can fail; with it, the same frame
 * with the container's true MAC and address (and an ARP probe from 0.0.0.0) arrives, sent last,
 * which shows the guard does not pass by dropping everything and that the forged frame had time
 * to arrive. The workload flushes its in-namespace rules first, as CAP_NET_ADMIN would.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class HostGuardBindingPodmanTest extends ForgedFrameProof {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    private static final SecureRandom RANDOM = new SecureRandom();
    /** The sandboxes' policy: only UDP to the gateway's address at this JVM's port (%s, %d). */
    private static final String POLICY = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"%s:%d/udp\"],"
            + "\"dns\":false,\"outbound\":false,\"inbound\":false}";

    static HostUdpPort hostUdp;

    @BeforeAll
    static void openAHostPort() throws IOException {
        hostUdp = new HostUdpPort();
    }

    @AfterAll
    static void closeIt() {
        if (hostUdp != null) {
            hostUdp.close();
        }
    }

    private final List<String[]> poisoned = new ArrayList<>(); // {address, bridge, forged MAC} the host may have learnt

    /**
     * A forged ARP frame that got through (host guard off) may have left the forged MAC in the
     * host's neighbour entry of the container's address, which the next container given that
     * address would inherit: that entry alone is removed (the host learns it again on demand).
     */
    @AfterEach
    void forgetPoisonedNeighbourEntries() {
        for (String[] entry : poisoned) {
            String shown = Sh.run("ip", "-4", "neigh", "show", entry[0], "dev", entry[1]).stdout();
            if (shown.contains(entry[2])) {
                Sh.run("ip", "-4", "neigh", "del", entry[0], "dev", entry[1]);
            }
        }
    }

    @ParameterizedTest(name = "host guard {0}")
    @EnumSource(value = HostGuardMode.class, names = {"AUTO", "OFF"})
    void aDatagramWithAForgedSourceAddressNeverReachesAHostPortThePolicyAllows(HostGuardMode mode) throws Exception {
        BindingSandbox s = sandbox(mode);
        String forgedIp = s.unusedAddress();
        String token = ForgedFrames.token();

        s.udp(s.mac, forgedIp, "forged-ip-" + token);
        s.udp(s.mac, s.container.ipv4(), "true-" + token); // last: once it arrived, so had the forged one
        List<String> got = hostUdp.received("true-" + token);
        s.assertGuardedOnlyAs(mode);

        assertThat(got).as("the datagram with the container's own source").contains(s.container.ipv4() + " true-" + token);
        if (mode == HostGuardMode.AUTO) {
            assertThat(got).as("datagrams from the forged source %s", forgedIp)
                    .noneMatch(d -> d.endsWith("forged-ip-" + token));
        } else {
            assertThat(got).as("without the guard the forged source reaches the host")
                    .contains(forgedIp + " forged-ip-" + token);
        }
    }

    @org.junit.jupiter.api.Test
    void anEth0MovedIntoANamespaceOfTheWorkloadsOwnHasItsHostGuardClosedAtTheNextApply() throws Exception {
        // as a workload holding CAP_NET_ADMIN could: its eth0 into a namespace of its own, where no
        // in-namespace rule follows it, set up there as before
        BindingSandbox s = sandbox(HostGuardMode.AUTO);
        String child = "nfmv-" + ForgedFrames.token();
        Sh.ok("ip", "netns", "add", child);
        try {
            Sh.ok("nsenter", "-t", Integer.toString(s.container.pid()), "-n", "ip", "link", "set", "eth0", "netns", child);
            Sh.ok("ip", "-n", child, "link", "set", "eth0", "up");
            Sh.ok("ip", "-n", child, "addr", "add", s.container.ipv4() + "/" + s.prefix.split("/")[1], "dev", "eth0");
            String token = ForgedFrames.token();
            String before = "before-" + token;
            udpFrom(child, s.container.gateway(), before);
            assertThat(hostUdp.received(before)).as("the moved eth0 still holds the policy's host side")
                    .contains(s.container.ipv4() + " " + before);

            var outcome = enforcer.attempt(s.container, POLICY.formatted(s.container.gateway(), hostUdp.port()));
            String after = "after-" + token;
            udpFrom(child, s.container.gateway(), after);
            udpFrom(child, s.container.gateway(), "last-" + token);
            List<String> got = hostUdp.received("last-" + token);

            // its namespace holds lo alone now: refused as no container network, and its veth's guard closed
            assertThat(outcome.error()).as("%s", outcome).isNotNull();
            assertThat(outcome.error().code()).isEqualTo("NAMESPACE_MISMATCH");
            assertThat(Sh.ok("nft", "list", "chain", "netdev", "netfence", s.hostSide))
                    .contains("netfence container=" + s.container.id()).doesNotContain("accept");
            assertThat(got).as("datagrams from the moved eth0 once its guard is closed").isEmpty();
        } finally {
            Sh.run("ip", "netns", "del", child);
        }
    }

    /** Three UDP datagrams to {@code to} at this JVM's host port, sent from namespace {@code ns}. */
    private static void udpFrom(String ns, String to, String payload) {
        Sh.ok("ip", "netns", "exec", ns, Python.EXE, "-c", "import socket, sys\n"
                + "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                + "for _ in range(3): s.sendto(sys.argv[1].encode(), (sys.argv[2], int(sys.argv[3])))",
                payload, to, Integer.toString(hostUdp.port()));
    }

    @ParameterizedTest(name = "host guard {0}")
    @EnumSource(value = HostGuardMode.class, names = {"AUTO", "OFF"})
    void aDatagramWithAForgedEthernetSourceNeverReachesAHostPortThePolicyAllows(HostGuardMode mode) throws Exception {
        BindingSandbox s = sandbox(mode);
        String forgedMac = ForgedFrames.randomMac();
        String token = ForgedFrames.token();

        s.udp(forgedMac, s.container.ipv4(), "forged-mac-" + token);
        s.udp(s.mac, s.container.ipv4(), "true-" + token);
        List<String> got = hostUdp.received("true-" + token);
        s.assertGuardedOnlyAs(mode);

        assertThat(got).as("the datagram with the container's own MAC").contains(s.container.ipv4() + " true-" + token);
        if (mode == HostGuardMode.AUTO) {
            assertThat(got).as("datagrams from the forged MAC %s", forgedMac)
                    .noneMatch(d -> d.endsWith("forged-mac-" + token));
        } else {
            assertThat(got).as("without the guard the forged MAC reaches the host")
                    .contains(s.container.ipv4() + " forged-mac-" + token);
        }
    }

    @ParameterizedTest(name = "host guard {0}")
    @EnumSource(value = HostGuardMode.class, names = {"AUTO", "OFF"})
    void anArpReplyClaimingAnotherAddressOrAProbeOfANeighboursNeverReachesTheBridgeWhileItsOwnDo(HostGuardMode mode)
            throws Exception {
        BindingSandbox s = sandbox(mode);
        String forgedIp = s.unusedAddress();
        String own = s.container.ipv4();
        tap = new ForgedFrames.Tap(scripts.listener(), s.bridge, "arp");

        // replies to the gateway (op 2) and requests (op 1), told apart by a random target MAC each
        String forged = s.arp(2, s.mac, forgedIp, s.container.gateway());
        // a probe (RFC 5227) of a neighbour's address, as that neighbour checks it: a conflict, so it gives the address up
        String neighbourProbe = s.arp(1, s.mac, "0.0.0.0", forgedIp);
        String probe = s.arp(1, s.mac, "0.0.0.0", own); // conflict detection of its own address
        String control = s.arp(2, s.mac, own, s.container.gateway());
        List<String> seen = tap.framesAfter(control);
        s.assertGuardedOnlyAs(mode);

        assertThat(seen).as("ARP frames on %s", s.bridge).contains(control).contains(probe);
        if (mode == HostGuardMode.AUTO) {
            assertThat(seen).as("ARP frames claiming or probing %s on %s", forgedIp, s.bridge)
                    .doesNotContain(forged, neighbourProbe).noneMatch(f -> f.split(" ")[2].equals(forgedIp));
        } else {
            assertThat(seen).as("without the guard the forged sender address and the probe reach the bridge")
                    .contains(forged, neighbourProbe);
        }
    }

    @ParameterizedTest(name = "host guard {0}")
    @EnumSource(value = HostGuardMode.class, names = {"AUTO", "OFF"})
    void aVlanTaggedFrameNeverReachesTheBridgeEvenWhenItsInnerFrameIsTheContainersOwn(HostGuardMode mode)
            throws Exception {
        // the kernel untags one VLAN header before the ingress hook, and the bridge passes the frame on
        // with its tag: another VLAN's hosts behind a trunk would see the container's frames
        BindingSandbox s = sandbox(mode);
        String own = s.container.ipv4();
        tap = new ForgedFrames.Tap(scripts.listener(), s.bridge, "arp");

        String tagged = s.taggedArp(7, 2, s.mac, own, s.container.gateway());
        String control = s.arp(2, s.mac, own, s.container.gateway());
        List<String> seen = tap.framesAfter(control);
        s.assertGuardedOnlyAs(mode);

        assertThat(seen).as("ARP frames on %s", s.bridge).contains(control);
        if (mode == HostGuardMode.AUTO) {
            assertThat(seen).as("the VLAN-tagged ARP frame on %s", s.bridge).doesNotContain(tagged);
        } else {
            assertThat(seen).as("without the guard the tagged frame reaches the bridge").contains(tagged);
        }
    }

    @ParameterizedTest(name = "host guard {0}")
    @EnumSource(value = HostGuardMode.class, names = {"AUTO", "OFF"})
    void addressesItGivesItsOwnInterfaceLaterAreNeverBoundSoItCannotAnswerForTheGatewayOrANeighbour(
            HostGuardMode mode) throws Exception {
        claimTheGatewayAndANeighbourAfterTheFirstApply(mode, false);
    }

    @ParameterizedTest(name = "host guard {0}")
    @EnumSource(value = HostGuardMode.class, names = {"AUTO", "OFF"})
    void addressesItGivesItsOwnInterfaceWhileNetfenceIsDownAreNotBoundByTheRestartedNetfenceEither(
            HostGuardMode mode) throws Exception {
        claimTheGatewayAndANeighbourAfterTheFirstApply(mode, true);
    }

    /**
     * As a workload holding CAP_NET_ADMIN would: the gateway's address and a neighbour's on its own
     * eth0 after its first apply, then a resync, by the same netfence or (restarted) by a new one
     * that adopted the chains of the first, which is forgotten as after a SIGKILL.
     */
    private void claimTheGatewayAndANeighbourAfterTheFirstApply(HostGuardMode mode, boolean restarted) throws Exception {
        BindingSandbox s = sandbox(mode);
        String gateway = s.container.gateway();
        String neighbour = s.unusedAddress(); // the next container's, say
        for (String address : List.of(gateway, neighbour)) {
            Sh.ok("nsenter", "-t", Integer.toString(s.container.pid()), "-n", "ip", "addr", "add", address + "/32",
                    "dev", "eth0");
        }
        if (restarted) {
            enforcer = GuardedEnforcer.create(mode);
            enforcer.guards().adopt();
        }
        applyAndFlush(s.container, mode);
        tap = new ForgedFrames.Tap(scripts.listener(), s.bridge, "arp");
        poisoned.add(new String[] {neighbour, s.bridge, s.mac});

        // "the gateway (a neighbour) is at my MAC", to every neighbour's cache
        String gatewayClaim = s.arp(2, s.mac, gateway, gateway);
        String neighbourClaim = s.arp(2, s.mac, neighbour, gateway);
        String control = s.arp(2, s.mac, s.container.ipv4(), gateway);
        List<String> seen = tap.framesAfter(control);
        s.assertGuardedOnlyAs(mode);

        assertThat(seen).as("ARP frames on %s", s.bridge).contains(control);
        if (mode == HostGuardMode.AUTO) {
            assertThat(seen).as("ARP frames claiming %s or %s on %s", gateway, neighbour, s.bridge)
                    .doesNotContain(gatewayClaim, neighbourClaim)
                    .noneMatch(f -> f.split(" ")[2].equals(gateway) || f.split(" ")[2].equals(neighbour));
        } else {
            assertThat(seen).as("without the guard the claims reach the bridge").contains(gatewayClaim, neighbourClaim);
        }
    }

    @ParameterizedTest(name = "host guard {0}")
    @EnumSource(value = HostGuardMode.class, names = {"AUTO", "OFF"})
    void anArpReplyClaimingAnotherMacForItsOwnAddressNeverReachesTheBridge(HostGuardMode mode) throws Exception {
        BindingSandbox s = sandbox(mode);
        String forgedMac = ForgedFrames.randomMac();
        String own = s.container.ipv4();
        tap = new ForgedFrames.Tap(scripts.listener(), s.bridge, "arp");
        poisoned.add(new String[] {own, s.bridge, forgedMac});

        String forged = s.arp(2, forgedMac, own, s.container.gateway()); // Ethernet source: its own MAC
        String control = s.arp(2, s.mac, own, s.container.gateway());
        List<String> seen = tap.framesAfter(control);
        s.assertGuardedOnlyAs(mode);

        assertThat(seen).as("ARP frames on %s", s.bridge).contains(control);
        if (mode == HostGuardMode.AUTO) {
            assertThat(seen).as("ARP frames giving %s as the MAC of %s", forgedMac, own).doesNotContain(forged)
                    .noneMatch(f -> f.split(" ")[1].equals(forgedMac));
        } else {
            assertThat(seen).as("without the guard the forged sender MAC reaches the bridge").contains(forged);
        }
    }

    @ParameterizedTest(name = "host guard {0}")
    @EnumSource(value = HostGuardMode.class, names = {"AUTO", "OFF"})
    void aNeighbourAdvertisementForAnotherAddressNeverReachesTheBridgeWhileOneForItsOwnDoes(HostGuardMode mode)
            throws Exception {
        BindingSandbox s = sandbox(mode);
        String own = s.linkLocal();
        byte[] random = new byte[6];
        RANDOM.nextBytes(random);
        HexFormat hex = HexFormat.of();
        // an address of the link that is not its own: whose neighbour-cache entry the advertisement would set
        String forgedTarget = "fe80::" + hex.formatHex(random, 0, 2) + ":" + hex.formatHex(random, 2, 4) + ":"
                + hex.formatHex(random, 4, 6) + ":1";
        tap = new ForgedFrames.Tap(scripts.listener(), s.bridge, "nd");

        // both from its own link-local address and MAC: only the target differs
        String forged = s.na(own, forgedTarget);
        String control = s.na(own, own);
        List<String> seen = tap.framesAfter(control);
        s.assertGuardedOnlyAs(mode);

        assertThat(seen).as("neighbour advertisements on %s", s.bridge).contains(control);
        if (mode == HostGuardMode.AUTO) {
            assertThat(seen).as("advertisements for %s on %s", forgedTarget, s.bridge).doesNotContain(forged);
        } else {
            assertThat(seen).as("without the guard an advertisement for another address reaches the bridge")
                    .contains(forged);
        }
    }

    @ParameterizedTest(name = "host guard {0}")
    @EnumSource(value = HostGuardMode.class, names = {"AUTO", "OFF"})
    void aDuplicateAddressProbeForANeighboursAddressNeverReachesTheBridgeWhileOneForItsOwnDoes(HostGuardMode mode)
            throws Exception {
        BindingSandbox s = sandbox(mode);
        String own = s.linkLocal();
        String other = "fe80::" + ForgedFrames.token().substring(0, 4) + ":1"; // a neighbour's tentative address
        tap = new ForgedFrames.Tap(scripts.listener(), s.bridge, "nd");

        // from :: to the target's solicited-node group: what fails that address's detection if answered or seen
        String forged = s.ns(other);
        String control = s.ns(own);
        List<String> seen = tap.framesAfter(control);
        s.assertGuardedOnlyAs(mode);

        assertThat(seen).as("neighbour solicitations on %s", s.bridge).contains(control);
        if (mode == HostGuardMode.AUTO) {
            assertThat(seen).as("probes for %s on %s", other, s.bridge).doesNotContain(forged);
        } else {
            assertThat(seen).as("without the guard a probe for another address reaches the bridge").contains(forged);
        }
    }

    /** A sandbox under {@code mode} whose policy allows only UDP to this JVM's host port, its in-namespace rules flushed. */
    private BindingSandbox sandbox(HostGuardMode mode) throws IOException {
        PodmanContainer container = PODMAN.sandbox();
        enforcer = GuardedEnforcer.create(mode);
        applyAndFlush(container, mode);
        hostUdp.drain();
        return new BindingSandbox(container, scripts.sender(), hostUdp.port());
    }

    /** Applies the policy that allows only UDP to this JVM's host port, then flushes the in-namespace rules. */
    private void applyAndFlush(PodmanContainer container, HostGuardMode mode) {
        assertThat(enforcer.apply(container, POLICY.formatted(container.gateway(), hostUdp.port())).guards())
                .isEqualTo(mode == HostGuardMode.AUTO ? List.of("netns", "host") : List.of("netns"));
        HostGuardPodmanTest.flushInNamespaceRules(container);
    }
}
