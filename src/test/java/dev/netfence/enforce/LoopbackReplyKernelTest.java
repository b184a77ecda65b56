package dev.netfence.enforce;

import static dev.netfence.enforce.SandboxEnforcement.policy;
import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.SandboxNet;
import dev.netfence.testkit.SandboxNetExtension;
import dev.netfence.testkit.Sh;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What the loopback accept lets the workload send, turned into a way in: an unprivileged workload
 * (uid 65534, no capabilities) sends one datagram through {@code lo} to an address that is not one
 * of a remote host's (IPv4: its subnet's broadcast address, with {@code SO_BINDTODEVICE lo}; IPv6:
 * the subnet-router anycast address a namespace with forwarding on holds), the loopback accept
 * passes it, and connection tracking keeps an entry whose reply direction is "from" that address.
 * The peer, which the policy forbids, then forges datagrams from that address and port (a source
 * nobody owns: {@code IP_FREEBIND} / {@code IPV6_FREEBIND}) to the workload, and without the
 * broadcast-source drop (IPv4) or with the nft IPv6 loopback accept on {@code fib daddr type !=
 * unicast} (which takes anycast) every one passed the established accept, inbound off (reproduced
 * by review, 2026-12-06). The namespace's {@code rp_filter} is off here, as a container's is on a
 * host that has it off. Both backends.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
@ParameterizedClass(name = "backend {0}")
@ValueSource(strings = {"iptables-nft", "nft"})
class LoopbackReplyKernelTest {
    @Parameter
    String backend;

    static final int WORKLOAD_PORT = 8031;
    static final int FAKE_PORT = 8032;
    static final String PYTHON = "/usr/bin/python3";
    /**
     * How long the workload goes on listening once the forger is done, in seconds. The forger
     * sends for 1.8 s, so the window reaches 3.3 s past its first datagram: past the last probe
     * (2 s after it) of a neighbour resolution that datagram may have had to wait for, and never
     * shorter than the fixed 3 s it once was.
     */
    static final String MARGIN_S = "1.5";
    /**
     * Python: {@code until_sender_done(sockets, got)} calls {@code got(socket)} for each socket that
     * has a datagram (a refused send's error is passed over) until stdin closes (the test closes it
     * once the sender has exited) and {@link #MARGIN_S} seconds more, at most 120 s in all.
     */
    static final String UNTIL_SENDER_DONE = """
            import os, select, socket, sys, time
            def until_sender_done(socks, got):
                watched, end = list(socks) + [0], time.time() + 120
                while time.time() < end:
                    for sk in select.select(watched, [], [], 0.5)[0]:
                        if sk == 0:
                            if not os.read(0, 64):
                                watched.remove(0)
                                end = min(end, time.time() + %s)
                            continue
                        try:
                            got(sk)
                        except ConnectionRefusedError:
                            pass
            """.formatted(MARGIN_S);
    /**
     * argv: family destination port device(lo|-) own-port own-address; sends once from own-port
     * (bound to the device when one is named), then prints what arrives on that socket and on a
     * second one bound to own-address and the same port (a socket bound to lo hears nothing that
     * arrives on eth0) until its stdin closes (the forger is done) and {@link #MARGIN_S} seconds more.
     * Not a fixed window from READY: the forger's interpreter can take a second or more to start
     * on a loaded machine, and a window that ends while it still sends proves nothing.
     */
    static final String WORKLOAD = UNTIL_SENDER_DONE + """
            fam = socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET
            s = socket.socket(fam, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", int(sys.argv[5])))
            if sys.argv[4] != "-":
                s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, sys.argv[4].encode())
            rx = socket.socket(fam, socket.SOCK_DGRAM)
            rx.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            rx.bind((sys.argv[6], int(sys.argv[5])))
            try:
                s.sendto(b"out", (sys.argv[2], int(sys.argv[3])))
            except OSError as e:
                print("SEND-REFUSED", e.errno, flush=True)
            print("READY", flush=True)
            def got(sk):
                data, src = sk.recvfrom(100)
                if data != b"out":
                    print("GOT", data.decode(), src[0], flush=True)
            until_sender_done([s, rx], got)
            """;
    /**
     * argv: family source port destination destination-port; six datagrams from source:port to
     * destination. IPv6: a UDP socket with {@code IPV6_FREEBIND}. IPv4: whole IP packets on a raw
     * socket (the peer is root in its own namespace), as a UDP socket's datagrams from a broadcast
     * address leave with another source.
     */
    static final String FORGER = """
            import socket, struct, sys, time
            src, sport, dst, dport = sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
            def checksum(b):
                b += b"\\0" * (len(b) % 2)
                s = sum(struct.unpack("!%dH" % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
                return ~s & 0xffff
            if sys.argv[1] == "6":
                s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
                s.setsockopt(socket.IPPROTO_IPV6, 78, 1)  # IPV6_FREEBIND
                s.bind((src, sport))
                send = lambda payload: s.sendto(payload, (dst, dport))
            else:
                raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
                def send(payload):
                    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
                    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, len(udp))
                    udp = udp[:6] + struct.pack("!H", checksum(pseudo + udp) or 0xffff) + udp[8:]
                    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, socket.inet_aton(src),
                            socket.inet_aton(dst))
                    raw.sendto(ip + udp, (dst, 0))
            for i in range(6):
                send(b"from-forbidden-%d" % i); time.sleep(0.3)
            """;

    @RegisterExtension
    static final SandboxNetExtension SANDBOX = SandboxNetExtension.withPeerListening(8033);

    @BeforeEach
    void resetRules() {
        net().resetRules();
        for (String key : List.of("all", "default", "eth0")) {
            Sh.ok("ip", "netns", "exec", net().containerNs(), "sysctl", "-qw", "net.ipv4.conf." + key + ".rp_filter=0");
        }
    }

    @Test
    void aForbiddenHostCannotStreamIntoTheSandboxAsTheReplyOfABroadcastTheWorkloadSentThroughLoopback() throws Exception {
        String broadcast = net().containerV4().replaceFirst("\\.1$", ".255");
        assertThat(repliesTo("4", broadcast, "lo", net().containerV4())).as("the probe works without rules")
                .contains("GOT from-forbidden-0 " + broadcast);

        assertThat(applyClosed().status()).isEqualTo("applied");

        assertThat(repliesTo("4", broadcast, "lo", net().containerV4()))
                .as("what the forbidden peer sent from the broadcast address").doesNotContain("GOT");
        assertThat(ownLoopbackWorks("4", "127.0.0.1")).isEqualTo("OK");
        assertThat(ownLoopbackWorks("4", net().containerV4())).isEqualTo("OK");
    }

    @Test
    void aForbiddenHostCannotStreamIntoTheSandboxAsTheReplyOfADatagramTheWorkloadSentToItsSubnetRouterAnycast()
            throws Exception {
        Sh.ok("ip", "netns", "exec", net().containerNs(), "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1");
        try {
            String anycast = net().containerV6().replaceFirst("::1$", "::");
            assertThat(Sh.run("ip", "-n", net().containerNs(), "-6", "route", "show", "table", "local").stdout())
                    .as("forwarding on: the kernel holds the subnet-router anycast address").contains("anycast " + anycast);
            assertThat(repliesTo("6", anycast, "-", net().containerV6())).as("the probe works without rules")
                    .contains("GOT from-forbidden-0 " + anycast);

            assertThat(applyClosed().status()).isEqualTo("applied");

            assertThat(repliesTo("6", anycast, "-", net().containerV6()))
                    .as("what the forbidden peer sent from the anycast address").doesNotContain("GOT");
            assertThat(ownLoopbackWorks("6", "::1")).isEqualTo("OK");
            assertThat(ownLoopbackWorks("6", net().containerV6())).isEqualTo("OK");
        } finally {
            Sh.ok("ip", "netns", "exec", net().containerNs(), "sysctl", "-qw", "net.ipv6.conf.all.forwarding=0");
        }
    }

    private EnforcementResult applyClosed() {
        return SandboxEnforcement.enforce(net(), backend, policy("{\"schemaVersion\":1,\"mode\":\"bridge\","
                + "\"allowedEndpoints\":[\"" + net().peerV4() + ":8033\"],\"dns\":false,\"outbound\":false,"
                + "\"inbound\":false}"), List.of(), Map.of());
    }

    /**
     * What the workload (uid 65534, no capabilities), having sent one datagram to {@code destination}
     * (through {@code device}, or routed), received of what the peer forged from {@code destination}
     * to {@code own} ("GOT ..." lines).
     */
    private static String repliesTo(String family, String destination, String device, String own) throws Exception {
        return repliesTo(List.of("ip", "netns", "exec", net().containerNs()), List.of("ip", "netns", "exec", net().peerNs()),
                family, destination, device, own);
    }

    /**
     * As above, the workload started in the namespace {@code intoSandbox} leads into (as uid 65534,
     * no capabilities) and the forger in the one {@code intoPeer} leads into (as root).
     */
    static String repliesTo(List<String> intoSandbox, List<String> intoPeer, String family, String destination,
            String device, String own) throws Exception {
        List<String> argv = new ArrayList<>(intoSandbox);
        argv.addAll(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                "--bounding-set=-all"));
        argv.addAll(List.of(PYTHON, "-c", WORKLOAD, family, destination, String.valueOf(FAKE_PORT), device,
                String.valueOf(WORKLOAD_PORT), own));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        try {
            String first = new String(p.getInputStream().readNBytes(6), StandardCharsets.UTF_8);
            if (!first.startsWith("READY") && !first.startsWith("SEND-")) {
                p.waitFor(5, TimeUnit.SECONDS);
                throw new AssertionError("the workload's socket: " + first
                        + new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            }
            List<String> forger = new ArrayList<>(intoPeer);
            forger.addAll(List.of(PYTHON, "-c", FORGER, family, destination, String.valueOf(FAKE_PORT), own,
                    String.valueOf(WORKLOAD_PORT)));
            Sh.ok(forger.toArray(String[]::new));
            p.getOutputStream().close(); // the forger is done: the workload listens MARGIN_S more and ends
            assertThat(p.waitFor(15, TimeUnit.SECONDS)).isTrue();
            return first + new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        } finally {
            p.destroyForcibly();
        }
    }

    private static String ownLoopbackWorks(String family, String address) {
        return ForeignSourceKernelTest.ownLoopbackWorks(net().containerNs(), family, address);
    }

    private static SandboxNet net() {
        return SANDBOX.net();
    }
}
