package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.testkit.Agent;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import dev.netfence.testkit.Python;
import dev.netfence.testkit.Sh;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The host guard's proofs for traffic that leaves podman's bridge, which {@link HostGuardPodmanTest}
 * does not cover: connections and datagrams the host routes on to a namespace beyond it (standing
 * in for another machine: a veth of the host's own with an address in 198.18.0.0/15, reached
 * through netavark's masquerade), and raw AF_PACKET frames addressed to the host itself and to that
 * namespace. The workload flushes its in-namespace rules first, as CAP_NET_ADMIN would. Every
 * proof runs with {@code --host-guard auto} and with {@code off}: without the guard the same
 * traffic arrives, which shows each proof can fail.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class HostGuardBeyondPodmanTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    static final int ALLOWED = 8080;
    static final int FORBIDDEN_TCP = 8081;
    static final int FORBIDDEN_UDP = 9999;

    static String beyondNs;
    static String hostLink;
    static String hostV4;
    static String beyondV4;
    static Agent beyond;
    static DatagramSocket hostUdp;
    static Path rawSender;

    @BeforeAll
    static void makeANamespaceBeyondTheHost() throws IOException {
        byte[] random = new byte[3];
        new SecureRandom().nextBytes(random);
        String id = HexFormat.of().formatHex(random);
        int x = 1 + Byte.toUnsignedInt(random[0]) % 250;
        // a subnet the host already routes (a leftover, a parallel run) is never taken over
        for (int tries = 0; routed("198.18." + x + ".0/30"); tries++) {
            assertThat(tries).as("a free /30 in 198.18.0.0/16 on this host").isLessThan(250);
            x = 1 + x % 250;
        }
        beyondNs = "nfbeyond-" + id;
        hostLink = "nfb" + id;
        hostV4 = "198.18." + x + ".1";
        beyondV4 = "198.18." + x + ".2";
        Sh.ok("ip", "netns", "add", beyondNs);
        Sh.ok("ip", "link", "add", hostLink, "type", "veth", "peer", "name", "eth0", "netns", beyondNs);
        Sh.ok("ip", "addr", "add", hostV4 + "/30", "dev", hostLink);
        Sh.ok("ip", "link", "set", hostLink, "up");
        Sh.ok("ip", "-n", beyondNs, "addr", "add", beyondV4 + "/30", "dev", "eth0");
        Sh.ok("ip", "-n", beyondNs, "link", "set", "lo", "up");
        Sh.ok("ip", "-n", beyondNs, "link", "set", "eth0", "up");
        Sh.ok("ip", "-n", beyondNs, "route", "add", "default", "via", hostV4);
        beyond = Agent.start(beyondNs);
        for (String listen : new String[] {"tcp " + ALLOWED, "tcp " + FORBIDDEN_TCP, "udp " + FORBIDDEN_UDP}) {
            assertThat(beyond.send("listen " + listen)).startsWith("OK");
        }
        hostUdp = new DatagramSocket(new InetSocketAddress("0.0.0.0", 0));
        rawSender = Files.createTempFile("guard-raw", ".py");
        Files.writeString(rawSender, HostGuardPodmanTest.RAW_SENDER, StandardCharsets.UTF_8);
    }

    @AfterAll
    static void removeIt() throws IOException {
        if (beyond != null) {
            beyond.close();
        }
        if (hostUdp != null) {
            hostUdp.close();
        }
        if (hostLink != null) {
            Sh.run("ip", "link", "del", hostLink);
        }
        if (beyondNs != null) {
            Sh.run("ip", "netns", "del", beyondNs);
        }
        if (rawSender != null) {
            Files.deleteIfExists(rawSender);
        }
    }

    private GuardedEnforcer enforcer;

    @AfterEach
    void releaseGuards() {
        if (enforcer != null) {
            enforcer.close();
        }
    }

    @ParameterizedTest(name = "host guard {0}")
    @EnumSource(value = HostGuardMode.class, names = {"AUTO", "OFF"})
    void trafficRoutedBeyondTheHostReachesOnlyWhatThePolicyAllowsAfterTheWorkloadFlushedItsRules(HostGuardMode mode)
            throws Exception {
        PodmanContainer sandbox = sandbox(mode);
        Agent workload = sandbox.agent();
        String seenBefore = beyond.send("seen " + FORBIDDEN_UDP);

        assertThat(workload.send(HostGuardPodmanTest.tcp(beyondV4, ALLOWED))).as("allowed, routed by the host")
                .isEqualTo("OK");
        String tcp = workload.send(HostGuardPodmanTest.tcp(beyondV4, FORBIDDEN_TCP));
        String udp = workload.send("udp " + beyondV4 + " " + FORBIDDEN_UDP + " 1500");
        if (mode == HostGuardMode.AUTO) {
            assertThat(tcp).as("forbidden TCP beyond the host").isEqualTo("TIMEOUT");
            assertThat(udp).as("forbidden UDP beyond the host").isEqualTo("TIMEOUT"); // waited 1.5 s for an answer
            assertThat(beyond.send("seen " + FORBIDDEN_UDP)).as("datagrams beyond the host").isEqualTo(seenBefore);
        } else {
            assertThat(tcp).as("without the guard the flush opens what lies beyond the host").isEqualTo("OK");
            assertThat(udp).isEqualTo("OK");
        }
    }

    @ParameterizedTest(name = "host guard {0}")
    @EnumSource(value = HostGuardMode.class, names = {"AUTO", "OFF"})
    void rawFramesToTheHostAndRoutedBeyondItNeverArriveAlsoWithQdiscBypass(HostGuardMode mode) throws Exception {
        PodmanContainer sandbox = sandbox(mode);
        // the MAC of its veth's host side, a port of the bridge: stable while the port exists, where the
        // bridge's own changes as containers come and go (and a frame to a stale one is flooded, not received)
        String bridgeMac = new BindingSandbox(sandbox, null, 0).hostSideMac;
        drain(hostUdp);
        String beyondBefore = beyond.send("seen " + FORBIDDEN_UDP);

        for (String bypass : new String[] {"0", "1"}) {
            raw(sandbox, bridgeMac, sandbox.gateway(), hostUdp.getLocalPort(), bypass);
            raw(sandbox, bridgeMac, beyondV4, FORBIDDEN_UDP, bypass);
        }
        // an allowed connection along both paths, then a pause, to know the frames had time to arrive
        assertThat(sandbox.agent().send(HostGuardPodmanTest.tcp(beyondV4, ALLOWED))).isEqualTo("OK");
        int toHost = drain(hostUdp); // waits 300 ms past the last datagram

        if (mode == HostGuardMode.AUTO) {
            assertThat(toHost).as("raw datagrams the host received").isZero();
            assertThat(beyond.send("seen " + FORBIDDEN_UDP)).as("raw datagrams routed beyond the host")
                    .isEqualTo(beyondBefore);
        } else {
            assertThat(toHost).as("without the guard raw frames reach the host").isPositive();
            Awaitility.await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(beyond.send("seen "
                    + FORBIDDEN_UDP)).as("without the guard raw frames are routed on").isNotEqualTo(beyondBefore));
        }
    }

    /** A sandbox under {@code mode} whose policy allows only {@code beyond:ALLOWED}, its in-namespace rules flushed. */
    private PodmanContainer sandbox(HostGuardMode mode) {
        PodmanContainer sandbox = PODMAN.sandbox();
        enforcer = GuardedEnforcer.create(mode);
        enforcer.apply(sandbox, "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"" + beyondV4 + ":"
                + ALLOWED + "\"],\"dns\":false,\"outbound\":false,\"inbound\":false}");
        HostGuardPodmanTest.flushInNamespaceRules(sandbox);
        return sandbox;
    }

    private static void raw(PodmanContainer sandbox, String mac, String to, int port, String bypass) {
        Sh.ok("nsenter", "-t", Integer.toString(sandbox.pid()), "-n", Python.EXE, rawSender.toString(), "eth0", mac,
                sandbox.ipv4(), to, Integer.toString(port), bypass, "5");
    }

    /** Whether the host has a route (any table) inside {@code prefix}. */
    private static boolean routed(String prefix) {
        return !Sh.ok("ip", "-4", "route", "show", "table", "all", "to", "root", prefix).isBlank();
    }

    /** How many datagrams {@code socket} had received, waiting up to 300 ms for a late one. */
    private static int drain(DatagramSocket socket) throws IOException {
        socket.setSoTimeout(300);
        int n = 0;
        DatagramPacket packet = new DatagramPacket(new byte[256], 256);
        while (true) {
            try {
                socket.receive(packet);
                n++;
            } catch (SocketTimeoutException e) {
                return n;
            }
        }
    }
}
