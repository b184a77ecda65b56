package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.testkit.Agent;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import dev.netfence.testkit.Python;
import dev.netfence.testkit.Sh;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The host guard's proofs against real podman containers on podman's default bridge: a sandbox
 * (the workload, attacking from its own namespace as CAP_NET_ADMIN / CAP_NET_RAW would), a peer
 * on the same L2 segment (busybox httpd on 8080, allowed; an agent listening on TCP 8081 and UDP
 * 9999, both forbidden) and two listeners of this JVM in the host namespace, reached through the
 * bridge gateway (one allowed, one forbidden). Every proof runs with {@code --host-guard auto}
 * and with {@code off}: with the guard the forbidden traffic never arrives; without it, the same
 * attack gets through, which shows each proof can fail. A container whose quarantine its workload
 * keeps out of its namespace (it took the table's name) gets it on its host side all the same,
 * failed closed or found changed by a resync. One that makes more links than netfence reads is
 * still guarded on its veth.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class HostGuardPodmanTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    static final int ALLOWED = 8080;
    static final int FORBIDDEN_TCP = 8081;
    static final int FORBIDDEN_UDP = 9999;
    static final int INBOUND = 7070;

    static PodmanContainer peer;
    static Agent peerAgent;
    static ServerSocket hostAllowed;
    static ServerSocket hostForbidden;
    static Path rawSender;

    @BeforeAll
    static void startPeerAndHostListeners() throws IOException {
        peer = PODMAN.peer(ALLOWED);
        peerAgent = peer.agent();
        assertThat(peerAgent.send("listen tcp " + FORBIDDEN_TCP)).startsWith("OK");
        assertThat(peerAgent.send("listen udp " + FORBIDDEN_UDP)).startsWith("OK");
        hostAllowed = listener();
        hostForbidden = listener();
        rawSender = Files.createTempFile("guard-raw", ".py");
        Files.writeString(rawSender, RAW_SENDER, StandardCharsets.UTF_8);
    }

    @AfterAll
    static void closeHostListeners() throws IOException {
        for (ServerSocket s : new ServerSocket[] {hostAllowed, hostForbidden}) {
            if (s != null) {
                s.close();
            }
        }
        if (rawSender != null) {
            Files.deleteIfExists(rawSender);
        }
    }

    @ParameterizedTest(name = "host guard {0}")
    @EnumSource(value = HostGuardMode.class, names = {"AUTO", "OFF"})
    void aWorkloadThatFlushesItsRulesStillReachesOnlyWhatThePolicyAllows(HostGuardMode mode) throws Exception {
        PodmanContainer sandbox = PODMAN.sandbox();
        GuardedEnforcer enforcer = enforcer(mode);
        assertThat(enforcer.apply(sandbox, policy(false)).guards())
                .isEqualTo(mode == HostGuardMode.AUTO ? List.of("netns", "host") : List.of("netns"));
        Agent workload = sandbox.agent();
        assertThat(workload.send(tcp(peer.ipv4(), FORBIDDEN_TCP))).isEqualTo("REFUSED"); // in-namespace reject

        flushInNamespaceRules(sandbox);

        assertThat(workload.send(tcp(peer.ipv4(), ALLOWED))).isEqualTo("OK");
        assertThat(workload.send(tcp(peer.gateway(), hostAllowed.getLocalPort()))).isEqualTo("OK");
        String toPeer = workload.send(tcp(peer.ipv4(), FORBIDDEN_TCP));
        String toHost = workload.send(tcp(peer.gateway(), hostForbidden.getLocalPort()));
        if (mode == HostGuardMode.AUTO) {
            assertThat(toPeer).as("forbidden peer port after the flush").isEqualTo("TIMEOUT");
            assertThat(toHost).as("forbidden host listener after the flush").isEqualTo("TIMEOUT");
        } else {
            assertThat(toPeer).as("without the guard the flush opens the peer").isEqualTo("OK");
            assertThat(toHost).as("without the guard the flush opens the host").isEqualTo("OK");
        }
    }

    /**
     * A workload that makes more links in its namespace than netfence reads one by one (veth pairs,
     * as CAP_NET_ADMIN can) still has its real veth found, from the host's side, and guarded: the
     * outcome says {@code netns} only (the rest were not examined), and once it flushed its rules
     * the allowed peer port answers and a forbidden one stays closed.
     */
    @Test
    void aWorkloadThatMakesMoreLinksThanAreReadIsStillGuardedOnItsVeth() throws Exception {
        PodmanContainer sandbox = PODMAN.sandbox();
        StringBuilder batch = new StringBuilder();
        for (int i = 0; i <= NetlinkHostSides.MAX_LINKS / 2; i++) {
            batch.append("link add a").append(i).append(" type veth peer name b").append(i).append('\n');
        }
        Path file = Files.createTempFile("guard-links", ".batch");
        try {
            Files.writeString(file, batch.toString(), StandardCharsets.UTF_8);
            Sh.ok("nsenter", "-t", Integer.toString(sandbox.pid()), "-n", "ip", "-batch", file.toString());
        } finally {
            Files.deleteIfExists(file);
        }

        EnforcementResult result = enforcer(HostGuardMode.AUTO).apply(sandbox, policy(false));
        assertThat(result.guards()).containsExactly("netns");
        flushInNamespaceRules(sandbox);

        Agent workload = sandbox.agent();
        assertThat(workload.send(tcp(peer.ipv4(), ALLOWED))).isEqualTo("OK");
        assertThat(workload.send(tcp(peer.ipv4(), FORBIDDEN_TCP))).as("forbidden peer port after the flush")
                .isEqualTo("TIMEOUT");
    }

    @ParameterizedTest(name = "host guard {0}")
    @EnumSource(value = HostGuardMode.class, names = {"AUTO", "OFF"})
    void rawAfPacketAndAfXdpFramesToAForbiddenPeerPortNeverArriveAlsoWithQdiscBypass(HostGuardMode mode) throws Exception {
        PodmanContainer sandbox = PODMAN.sandbox();
        enforcer(mode).apply(sandbox, policy(false));
        String testkit = Path.of(HostGuardPodmanTest.class.getResource("/dev/netfence/testkit/xdp_frames.py").toURI())
                .getParent().toString();
        for (String bypass : List.of("0", "1", "xdp")) { // AF_XDP frames leave past the qdiscs too
            String before = peerAgent.send("seen " + FORBIDDEN_UDP);
            Sh.ok("nsenter", "-t", Integer.toString(sandbox.pid()), "-n", Python.EXE, rawSender.toString(), "eth0",
                    macOf(peer), sandbox.ipv4(), peer.ipv4(), Integer.toString(FORBIDDEN_UDP), bypass, "5", testkit);
            // a normal datagram on an allowed path, to know frames had time to arrive
            assertThat(sandbox.agent().send(tcp(peer.ipv4(), ALLOWED))).isEqualTo("OK");

            String after = peerAgent.send("seen " + FORBIDDEN_UDP);
            if (mode == HostGuardMode.AUTO) {
                assertThat(after).as("datagrams the peer received (sender %s)", bypass).isEqualTo(before);
            } else {
                assertThat(after).as("without the guard raw frames reach the peer (sender %s)", bypass)
                        .isNotEqualTo(before).contains("udp/" + sandbox.ipv4());
            }
        }
    }

    @ParameterizedTest(name = "host guard {0}")
    @EnumSource(value = HostGuardMode.class, names = {"AUTO", "OFF"})
    void inboundConnectionsWorkBothWaysWhileEgressBeyondThePolicyStaysBlocked(HostGuardMode mode) throws Exception {
        PodmanContainer sandbox = PODMAN.sandbox();
        enforcer(mode).apply(sandbox, policy(true));
        Agent workload = sandbox.agent();
        assertThat(workload.send("listen tcp " + INBOUND)).startsWith("OK");
        flushInNamespaceRules(sandbox);

        // the handshake needs the sandbox's SYN-ACK to pass the guard: the connection works both ways
        assertThat(peerAgent.send(tcp(sandbox.ipv4(), INBOUND))).isEqualTo("OK");
        Awaitility.await().atMost(Duration.ofSeconds(10))
                .untilAsserted(() -> assertThat(workload.send("seen " + INBOUND)).contains("tcp/" + peer.ipv4()));
        String egress = workload.send(tcp(peer.ipv4(), FORBIDDEN_TCP));
        assertThat(egress).isEqualTo(mode == HostGuardMode.AUTO ? "TIMEOUT" : "OK");
    }

    @Test
    void theHostRulesetOutsideNetfencesTableNeverChangesAndARemovedContainerLeavesNoTraceAfterOneSweep()
            throws Exception {
        PodmanContainer sandbox = PODMAN.sandbox();
        GuardedEnforcer enforcer = enforcer(HostGuardMode.AUTO);
        Map<String, String> host = HostRulesetGuard.snapshot();

        enforcer.apply(sandbox, policy(false));
        assertThat(HostRulesetGuard.snapshot()).as("after apply").isEqualTo(host);
        String device = enforcer.guards().installed().keySet().iterator().next();
        enforcer.apply(sandbox, policy(true)); // a changed policy replaces the chain
        assertThat(HostRulesetGuard.snapshot()).as("after re-apply").isEqualTo(host);
        assertThat(chainText(device)).contains("tcp flags & ack == ack accept", peer.ipv4() + " . " + ALLOWED);
        enforcer.quarantine(sandbox);
        assertThat(HostRulesetGuard.snapshot()).as("after quarantine").isEqualTo(host);
        assertThat(chainText(device)).doesNotContain(peer.ipv4() + " . " + ALLOWED).doesNotContain("dport");
        assertThat(GuardVeths.chains()).contains(device);

        sandbox.remove();
        assertThat(enforcer.guards().sweep()).isEqualTo(1);
        assertThat(GuardVeths.chains()).doesNotContain(device);
        assertThat(Sh.run("nft", "list", "table", "netdev", "netfence").stdout()).doesNotContain(sandbox.id());
        assertThat(HostRulesetGuard.snapshot()).as("after removal").isEqualTo(host);
    }

    @Test
    void aResyncRepairsAndReportsAHostChainChangedBehindItsBackAndWritesNothingWhileItHolds() throws Exception {
        PodmanContainer sandbox = PODMAN.sandbox();
        GuardedEnforcer enforcer = enforcer(HostGuardMode.AUTO);
        enforcer.apply(sandbox, policy(false));
        String device = enforcer.guards().installed().keySet().iterator().next();
        String handles = Sh.ok("nft", "-a", "list", "chain", "netdev", "netfence", device);

        assertThat(enforcer.reconcile(sandbox, policy(false)).drift()).isNull();
        assertThat(Sh.ok("nft", "-a", "list", "chain", "netdev", "netfence", device))
                .as("an intact chain is not rewritten: same rule handles").isEqualTo(handles);

        // what a tool or an admin in the host namespace could do: open the container's guard
        Sh.ok("nft", "insert", "rule", "netdev", "netfence", device, "accept");
        assertThat(enforcer.reconcile(sandbox, policy(false)).drift())
                .startsWith("host guard chain " + device + " holds 'accept' where netfence wrote");
        assertThat(chainText(device).lines().map(String::strip)).doesNotContain("accept");
        flushInNamespaceRules(sandbox);
        assertThat(sandbox.agent().send(tcp(peer.ipv4(), FORBIDDEN_TCP))).as("the repaired guard holds")
                .isEqualTo("TIMEOUT");
        assertThat(sandbox.agent().send(tcp(peer.ipv4(), ALLOWED))).isEqualTo("OK");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"fail-closed", "resync"})
    void aContainerWhoseQuarantineCannotBeWrittenInItsNamespaceIsQuarantinedOnItsHostSide(String path)
            throws Exception {
        PodmanContainer sandbox = PODMAN.sandbox();
        GuardedEnforcer enforcer = enforcer(HostGuardMode.AUTO);
        enforcer.apply(sandbox, policy(false));
        String device = enforcer.guards().installed().keySet().iterator().next();
        assertThat(chainText(device)).contains(peer.ipv4() + " . " + ALLOWED);
        String pid = Integer.toString(sandbox.pid());
        // the workload (CAP_NET_ADMIN) takes the table's name: an owner-flagged table only its socket may change
        Process owner = new ProcessBuilder("nsenter", "-t", pid, "-n", Python.EXE, "-c", TAKE_TABLE)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(
                    Sh.run("nsenter", "-t", pid, "-n", "nft", "list", "table", "inet", "netfence").stdout())
                    .as("the workload's table (its process %s)", owner.isAlive() ? "runs" : "ended")
                    .contains("flags owner"));
            Agent workload = sandbox.agent();
            assertThat(workload.send(tcp(peer.ipv4(), ALLOWED))).as("the policy, now only on the host side")
                    .isEqualTo("OK");
            assertThat(workload.send(tcp(peer.ipv4(), FORBIDDEN_TCP))).isEqualTo("TIMEOUT");

            // a missing policy fails it closed; a resync finds its rules gone and cannot write them back
            EnforcementResult result = path.equals("resync")
                    ? enforcer.resync(sandbox, policy(false), Duration.ofSeconds(20)) : enforcer.failClosed(sandbox);

            assertThat(result.status()).isEqualTo("failed");
            assertThat(result.quarantined()).as("the namespace could not be quarantined: %s", result).isFalse();
            assertThat(chainText(device)).as("the host side holds the quarantine, not the policy")
                    .doesNotContain(peer.ipv4() + " . " + ALLOWED).doesNotContain("dport");
            assertThat(workload.send(tcp(peer.ipv4(), ALLOWED))).as("the policy's allowed peer port")
                    .isEqualTo("TIMEOUT");
        } finally {
            owner.destroyForcibly();
            owner.waitFor();
        }
    }

    /** Replaces netfence's table with an empty one of the same name that only this process's socket may change, and holds it. */
    static final String TAKE_TABLE = String.join("\n",
            "import ctypes, time",
            "lib = ctypes.CDLL('libnftables.so.1')",
            "lib.nft_ctx_new.restype = ctypes.c_void_p",
            "lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]",
            "c = lib.nft_ctx_new(0)",
            "if lib.nft_run_cmd_from_buffer(c, b'table inet netfence\\ndelete table inet netfence\\n'",
            "                               b'table inet netfence { flags owner; }\\n') != 0:",
            "    raise SystemExit('nft refused the owner table')",
            "time.sleep(120)");

    private GuardedEnforcer enforcer;

    private GuardedEnforcer enforcer(HostGuardMode mode) {
        enforcer = GuardedEnforcer.create(mode);
        return enforcer;
    }

    @AfterEach
    void releaseGuards() {
        if (enforcer != null) {
            enforcer.close();
        }
    }

    static String policy(boolean inbound) {
        return "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"" + peer.ipv4() + ":" + ALLOWED + "\",\""
                + peer.gateway() + ":" + hostAllowed.getLocalPort() + "\"],\"dns\":false,\"outbound\":false,\"inbound\":"
                + inbound + "}";
    }

    static void flushInNamespaceRules(PodmanContainer sandbox) {
        String pid = Integer.toString(sandbox.pid());
        for (String tool : List.of("iptables", "ip6tables")) {
            Sh.ok("nsenter", "-t", pid, "-n", tool, "-F");
            Sh.ok("nsenter", "-t", pid, "-n", tool, "-X");
        }
        Sh.ok("nsenter", "-t", pid, "-n", "nft", "flush", "ruleset");
        assertThat(Sh.ok("nsenter", "-t", pid, "-n", "iptables-save")).doesNotContain("NETFENCE");
    }

    static String tcp(String host, int port) {
        return "tcp " + host + " " + port + " 1500";
    }

    static String chainText(String device) {
        return Sh.ok("nft", "list", "chain", "netdev", "netfence", device);
    }

    static String macOf(PodmanContainer container) {
        String link = Sh.ok("nsenter", "-t", Integer.toString(container.pid()), "-n", "ip", "-o", "link", "show", "eth0");
        int at = link.indexOf("link/ether ");
        return link.substring(at + "link/ether ".length(), at + "link/ether ".length() + 17);
    }

    private static ServerSocket listener() throws IOException {
        ServerSocket socket = new ServerSocket();
        socket.bind(new InetSocketAddress("0.0.0.0", 0));
        Thread accept = new Thread(() -> {
            while (!socket.isClosed()) {
                try (Socket s = socket.accept()) {
                    s.getOutputStream().write('x');
                } catch (IOException e) {
                    // closed at the end of the class
                }
            }
        }, "guard-host-listener");
        accept.setDaemon(true);
        accept.start();
        return socket;
    }

    /**
     * A raw Ethernet/IPv4/UDP frame writer on AF_PACKET, or on AF_XDP; argv: IFACE DSTMAC SRCIP
     * DSTIP DPORT BYPASS COUNT [TESTKIT], BYPASS 1 for PACKET_QDISC_BYPASS, {@code xdp} for an
     * AF_XDP socket in copy mode ({@code xdp_frames.py} in the TESTKIT directory).
     */
    static final String RAW_SENDER = """
            import fcntl, socket, struct, sys
            iface, dst_mac, src_ip, dst_ip = sys.argv[1:5]
            dport, bypass, count = int(sys.argv[5]), sys.argv[6] == "1", int(sys.argv[7])
            xdp = sys.argv[6] == "xdp"
            def csum(b):
                if len(b) % 2: b += b"\\0"
                s = sum(struct.unpack("!%dH" % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
                return (~s) & 0xffff
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
            if bypass:
                s.setsockopt(263, 20, 1)  # SOL_PACKET, PACKET_QDISC_BYPASS
            s.bind((iface, 0))
            src_mac = fcntl.ioctl(s.fileno(), 0x8927, struct.pack("256s", iface.encode()[:15]))[18:24]
            payload = b"raw-frame"
            length = 8 + len(payload)
            sip, dip = socket.inet_aton(src_ip), socket.inet_aton(dst_ip)
            udp = struct.pack("!HHHH", 40000, dport, length, 0) + payload
            udp = struct.pack("!HHHH", 40000, dport, length, csum(sip + dip + struct.pack("!BBH", 0, 17, length) + udp)) + payload
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + length, 1, 0, 64, 17, 0, sip, dip)
            ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
            frame = bytes.fromhex(dst_mac.replace(":", "")) + src_mac + b"\\x08\\x00" + ip + udp
            if xdp:
                sys.path.insert(0, sys.argv[8])
                import xdp_frames
                sent = xdp_frames.send(socket.socket(44, socket.SOCK_RAW, 0).detach(), iface, [frame] * count)
                if sent != "used":
                    sys.exit("AF_XDP: " + sent)
            else:
                for _ in range(count):
                    s.send(frame)
            """;
}
