package dev.netfence.enforce;

import static dev.netfence.enforce.SandboxEnforcement.policy;
import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.SandboxNet;
import dev.netfence.testkit.SandboxNetExtension;
import dev.netfence.testkit.Sh;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A workload forging an "established" connection: a socket bound to a forbidden host D's address
 * (IPv6 {@code IPV6_FREEBIND}, no capability; IPv4 {@code IP_TRANSPARENT}, which needs
 * CAP_NET_RAW) sends one datagram to the workload's own address (it left on {@code lo}, which the
 * loopback accept passed) or to a destination the policy allows (a UDP endpoint, a trusted
 * resolver's port 53), and its connection-tracking entry D→there was confirmed, so datagrams
 * from there to D were that entry's replies and passed the "established" accept before any
 * blocked subnet or the catch-all (over {@code lo}, D's answers came back the same way with
 * {@code inbound} off). Reproduced as an unprivileged user (uid 65534, no capabilities) before
 * the plans gained {@link dev.netfence.rules.Rule#foreignSource()}: the loopback path by hand,
 * the allowed-destination path by a review of the first fix, which covered {@code lo} only. The
 * peer runs its own receiver here and the test asserts it never saw a datagram, for both backends.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
@ParameterizedClass(name = "backend {0}")
@ValueSource(strings = {"iptables-nft", "nft"})
class ForeignSourceKernelTest {
    @Parameter
    String backend;

    static final int FORBIDDEN_PORT = 8021;
    static final int WORKLOAD_PORT = 8022;
    static final int ALLOWED_UDP = 8024;
    /** The workload's two ports of a UDP flow to itself. */
    static final int SELF_X = 8025;
    static final int SELF_Y = 8026;
    static final String PYTHON = "/usr/bin/python3";
    /**
     * argv: family via forbidden-address forbidden-port via-port transparent(0|1); via is the
     * workload's own address or a destination the policy allows.
     */
    static final String FORGE = """
            import socket, sys
            fam = socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET
            via, d, dport, port, transparent = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6] == "1"
            def freed():
                s = socket.socket(fam, socket.SOCK_DGRAM)
                if fam == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, 78, 1)  # IPV6_FREEBIND: no capability needed
                if transparent:
                    s.setsockopt(socket.IPPROTO_IP, 19, 1)  # IP_TRANSPARENT: CAP_NET_RAW or CAP_NET_ADMIN
                return s
            a = freed()
            a.bind((d, dport))
            b = freed()
            b.bind((via, port))
            b.settimeout(1.5)
            try:
                a.sendto(b"forge", (via, port))  # the entry D -> via
            except OSError as e:
                print("FORGE-REFUSED", e.errno)
            try:
                b.sendto(b"through", (d, dport))  # the entry's reply direction
                data = b"forge"
                while data == b"forge":  # the looped-back forged datagram itself, if it arrived
                    data, src = b.recvfrom(100)
                print("REPLY", data.decode())
            except socket.timeout:
                print("NO-REPLY")
            except OSError as e:
                print("SEND-REFUSED", e.errno)
            """;
    /** argv: family port file; writes each datagram's payload and source to file and echoes it. */
    static final String RECEIVER = """
            import socket, sys
            fam = socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET
            s = socket.socket(fam, socket.SOCK_DGRAM)
            s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", int(sys.argv[2])))
            print("READY", flush=True)
            while True:
                data, src = s.recvfrom(100)
                with open(sys.argv[3], "a") as f:
                    f.write("%s %s\\n" % (src[0], data.decode()))
                s.sendto(b"echo-" + data, src)
            """;

    @RegisterExtension
    static final SandboxNetExtension SANDBOX = SandboxNetExtension.withPeerListening(ALLOWED_UDP);

    @TempDir
    Path dir;

    @BeforeEach
    void resetRules() {
        net().resetRules();
    }

    @Test
    void anUnprivilegedWorkloadCannotForgeAnEstablishedIpv6FlowToAForbiddenHostThroughLoopback() throws Exception {
        Path control = dir.resolve("seen-without-rules");
        try (Receiver receiver = Receiver.start(peer(), "6", control)) {
            assertThat(forge("6", net().containerV6(), net().otherHostV6())).as("the probe works without rules")
                    .contains("REPLY echo-through");
        }
        assertThat(Files.readString(control)).contains(net().containerV6() + " through");

        EnforcementResult r = applyOutboundOff();
        assertThat(r.status()).as("%s", r).isEqualTo("applied");

        for (String forbidden : List.of(net().otherHostV6(), net().blockedHostV6())) {
            Path seen = dir.resolve("seen-" + forbidden.replace(':', '_'));
            String result;
            try (Receiver receiver = Receiver.start(peer(), "6", seen)) {
                result = forge("6", net().containerV6(), forbidden);
            }
            assertThat(result).as("forged through %s", forbidden).doesNotContain("REPLY echo");
            assertThat(seen).as("the peer saw nothing from the workload at %s", forbidden).doesNotExist();
        }
        assertThat(ownLoopbackWorks("6", net().containerV6())).isEqualTo("OK");
        assertThat(ownLoopbackWorks("6", "::1")).isEqualTo("OK");
    }

    @Test
    void anUnprivilegedWorkloadCannotForgeOneThroughAUdpDestinationThePolicyAllowsEither() throws Exception {
        String allowed = net().peerV6();
        Path control = dir.resolve("seen-without-rules");
        try (Receiver receiver = Receiver.start(peer(), "6", control)) {
            forge("6", allowed, net().blockedHostV6(), ALLOWED_UDP);
        }
        assertThat(Files.readString(control)).as("the probe reaches the peer without rules").contains(allowed + " through");

        EnforcementResult r = SandboxEnforcement.enforce(net(), backend, policy("{\"schemaVersion\":1,\"mode\":\"bridge\","
                + "\"allowedEndpoints\":[\"[" + allowed + "]:" + ALLOWED_UDP + "/udp\"],\"blockedSubnets\":[\""
                + net().blockedSubnetV4() + "\",\"" + net().blockedSubnetV6() + "\"],\"dns\":false,\"outbound\":false,"
                + "\"inbound\":false}"), List.of(), Map.of());
        assertThat(r.status()).as("%s", r).isEqualTo("applied");

        Path seen = dir.resolve("seen");
        try (Receiver receiver = Receiver.start(peer(), "6", seen)) {
            forge("6", allowed, net().blockedHostV6(), ALLOWED_UDP);
        }
        // (the peer's echo on the allowed port answers the forged datagram to D itself: only "through" is the workload's)
        assertThat(Files.exists(seen) ? Files.readString(seen) : "")
                .as("the blocked host saw nothing sent as the allowed destination's reply").doesNotContain("through");
        assertThat(net().containerUdp(allowed, ALLOWED_UDP)).as("the endpoint itself is allowed").isEqualTo("OK");
    }

    @Test
    void aWorkloadWithCapNetRawCannotForgeOneOverIpv4EitherAndLoopbackStillWorks() throws Exception {
        EnforcementResult r = applyOutboundOff();
        assertThat(r.status()).as("%s", r).isEqualTo("applied");

        Path seen = dir.resolve("seen-v4");
        String result;
        try (Receiver receiver = Receiver.start(peer(), "4", seen)) {
            result = forgeAsRoot("4", net().containerV4(), net().blockedHostV4());
        }
        assertThat(result).doesNotContain("REPLY echo");
        assertThat(seen).as("the peer saw nothing from the workload").doesNotExist();
        assertThat(ownLoopbackWorks("4", net().containerV4())).isEqualTo("OK");
        assertThat(ownLoopbackWorks("4", "127.0.0.1")).isEqualTo("OK");
    }

    /**
     * The other direction, toward the sandbox: the workload (uid 65534, no capabilities) connects a
     * UDP socket from its own address and port X to its own address and port Y and sends once (over
     * {@code lo}: accepted); the peer, which the policy forbids, then sends "from" the workload's
     * address and Y to X ({@code IPV6_FREEBIND}, no capability either), which IPv6 delivers (IPv4
     * drops a packet from a local source as a martian) and connection tracking takes for that
     * flow's reply. Reproduced before {@link dev.netfence.rules.Rule#ownSourceFromOutside()}: every
     * datagram reached the workload, inbound off.
     */
    @Test
    void aForbiddenHostCannotStreamIntoTheSandboxAsTheReplyOfAFlowTheWorkloadOpenedToItself() throws Exception {
        List<String> workload = List.of("ip", "netns", "exec", net().containerNs(), "setpriv", "--reuid=65534",
                "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all");
        assertThat(selfFlowReceives(workload, peer(), net().containerV6())).as("the probe works without rules")
                .contains("GOT from-peer");

        EnforcementResult r = applyOutboundOff();
        assertThat(r.status()).as("%s", r).isEqualTo("applied");

        assertThat(selfFlowReceives(workload, peer(), net().containerV6())).as("what the forbidden peer sent as the flow's reply")
                .doesNotContain("GOT");
        assertThat(ownLoopbackWorks("6", net().containerV6())).isEqualTo("OK");
    }

    /**
     * What a socket of the workload's (run by {@code intoWorkload}) connected from {@code own}:X to
     * {@code own}:Y received of the datagrams the peer (run by {@code intoPeer}) forged from
     * {@code own}:Y to X ("GOT ..." lines); a link-local {@code own} is scoped to {@code eth0}. The
     * workload listens until the peer's sender is done and {@link LoopbackReplyKernelTest#MARGIN_S}
     * seconds more (its stdin closes then), not for a fixed time from READY, which a slow start of
     * the sender's interpreter on a loaded machine could use up.
     */
    static String selfFlowReceives(List<String> intoWorkload, List<String> intoPeer, String own) throws Exception {
        String workload = LoopbackReplyKernelTest.UNTIL_SENDER_DONE + """
                own, x, y = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
                at = lambda port: (own, port, 0, socket.if_nametoindex("eth0")) if own.startswith("fe80") else (own, port)
                s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
                s.bind(at(x)); s.connect(at(y)); s.send(b"self")
                print("READY", flush=True)
                until_sender_done([s], lambda sk: print("GOT", sk.recv(100).decode(), flush=True))
                """;
        String peer = """
                import socket, sys, time
                own, x, y = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
                at = lambda port: (own, port, 0, socket.if_nametoindex("eth0")) if own.startswith("fe80") else (own, port)
                s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
                s.setsockopt(socket.IPPROTO_IPV6, 78, 1)  # IPV6_FREEBIND: no capability needed
                s.bind(at(y))
                for i in range(6):
                    s.sendto(b"from-peer-%d" % i, at(x)); time.sleep(0.3)
                """;
        List<String> argv = new ArrayList<>(intoWorkload);
        argv.addAll(List.of(PYTHON, "-c", workload, own, String.valueOf(SELF_X), String.valueOf(SELF_Y)));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        try {
            String first = new String(p.getInputStream().readNBytes(6), StandardCharsets.UTF_8);
            if (!"READY\n".equals(first)) {
                p.waitFor(5, TimeUnit.SECONDS);
                throw new AssertionError("the workload's socket: " + first
                        + new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            }
            List<String> send = new ArrayList<>(intoPeer);
            send.addAll(List.of(PYTHON, "-c", peer, own, String.valueOf(SELF_X), String.valueOf(SELF_Y)));
            Sh.ok(send.toArray(String[]::new));
            p.getOutputStream().close(); // the sender is done: the workload listens MARGIN_S more and ends
            assertThat(p.waitFor(15, TimeUnit.SECONDS)).isTrue();
            return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        } finally {
            p.destroyForcibly();
        }
    }

    private EnforcementResult applyOutboundOff() {
        return SandboxEnforcement.enforce(net(), backend, policy("{\"schemaVersion\":1,\"mode\":\"bridge\","
                + "\"allowedEndpoints\":[\"" + net().peerV4() + ":8023\"],\"blockedSubnets\":[\"" + net().blockedSubnetV4()
                + "\",\"" + net().blockedSubnetV6() + "\"],\"dns\":false,\"outbound\":false,\"inbound\":false}"),
                List.of(), Map.of());
    }

    /** The forgery as uid 65534 without capabilities, inside the container's namespace. */
    private static String forge(String family, String own, String forbidden) {
        return forge(family, own, forbidden, WORKLOAD_PORT);
    }

    /** {@link #forge(String, String, String)} through {@code via}:{@code viaPort}. */
    private static String forge(String family, String via, String forbidden, int viaPort) {
        return Sh.run("ip", "netns", "exec", net().containerNs(), "setpriv", "--reuid=65534", "--regid=65534",
                "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", PYTHON, "-c", FORGE, family, via, forbidden,
                String.valueOf(FORBIDDEN_PORT), String.valueOf(viaPort), "0").stdout();
    }

    /** The forgery as root in the namespace (holding CAP_NET_RAW, as Docker's default set does). */
    private static String forgeAsRoot(String family, String own, String forbidden) {
        return Sh.run("ip", "netns", "exec", net().containerNs(), PYTHON, "-c", FORGE, family, own, forbidden,
                String.valueOf(FORBIDDEN_PORT), String.valueOf(WORKLOAD_PORT), "1").stdout();
    }

    /** A datagram from the workload to one of its own addresses, unprivileged: OK when it arrives. */
    private static String ownLoopbackWorks(String family, String address) {
        return ownLoopbackWorks(net().containerNs(), family, address);
    }

    /** {@link #ownLoopbackWorks(String, String)} in namespace {@code ns}. */
    static String ownLoopbackWorks(String ns, String family, String address) {
        return ownLoopbackWorks(List.of("ip", "netns", "exec", ns), family, address);
    }

    /** {@link #ownLoopbackWorks(String, String)} in the namespace {@code into} leads into. */
    static String ownLoopbackWorks(List<String> into, String family, String address) {
        String script = """
                import socket, sys
                fam = socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET
                r = socket.socket(fam, socket.SOCK_DGRAM); r.bind((sys.argv[2], 0)); r.settimeout(1.5)
                s = socket.socket(fam, socket.SOCK_DGRAM); s.sendto(b"x", r.getsockname()[:2])
                print("OK" if r.recvfrom(10)[0] == b"x" else "WRONG")
                """;
        List<String> argv = new java.util.ArrayList<>(into);
        argv.addAll(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                "--bounding-set=-all", PYTHON, "-c", script, family, address));
        return Sh.run(argv.toArray(String[]::new)).stdout().strip();
    }

    private static SandboxNet net() {
        return SANDBOX.net();
    }

    private static List<String> peer() {
        return List.of("ip", "netns", "exec", net().peerNs());
    }

    /** A UDP receiver on the forbidden port (all addresses) in the namespace {@code enter} leads into, ended by pid. */
    record Receiver(Process process) implements AutoCloseable {
        static Receiver start(List<String> enter, String family, Path seen) throws IOException {
            List<String> argv = new ArrayList<>(enter);
            argv.addAll(List.of(PYTHON, "-c", RECEIVER, family, String.valueOf(FORBIDDEN_PORT), seen.toString()));
            Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
            Receiver r = new Receiver(p);
            String first = new String(p.getInputStream().readNBytes(6), StandardCharsets.UTF_8);
            if (!"READY\n".equals(first)) {
                r.close();
                throw new IOException("the peer's receiver did not start: " + first);
            }
            return r;
        }

        @Override
        public void close() {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
