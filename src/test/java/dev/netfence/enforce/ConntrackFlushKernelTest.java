package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.core.ErrorCode;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.CommandRunner;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.testkit.Agent;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.SandboxNet;
import dev.netfence.testkit.Streams;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Flows opened before an apply do not outlive it (issue 12 item 2), against the real kernel, on
 * both backends (iptables-nft and in-process nft): the container keeps a TCP stream and a UDP
 * flow to the peer going under a wide policy, then a stricter policy that forbids both is applied
 * (and, separately, the quarantine): within 1 s of the outcome neither gets another echo, while a
 * stream the stricter policy allows goes on. On the code before the flush the
 * RELATED,ESTABLISHED accepts kept both flows alive. The flush runs in-process on both backends:
 * no {@code conntrack} process is started (the iptables path ran {@code conntrack -F} per apply).
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class ConntrackFlushKernelTest {
    private static final int BLOCKED_TCP = 7400;
    private static final int BLOCKED_UDP = 7401;
    private static final int ALLOWED_TCP = 7402;
    private static final int DOWNLOAD = 7403;

    private final List<List<String>> ran = Collections.synchronizedList(new ArrayList<>());
    private SandboxNet net;

    @BeforeEach
    void createSandbox() throws Exception {
        net = SandboxNet.create();
        Agent peer = net.peerAgent();
        assertThat(peer.send("listen echo " + BLOCKED_TCP)).isEqualTo("OK");
        assertThat(peer.send("listen udp " + BLOCKED_UDP)).isEqualTo("OK");
        assertThat(peer.send("listen echo " + ALLOWED_TCP)).isEqualTo("OK");
    }

    @AfterEach
    void removeSandbox() {
        if (net != null) {
            net.close();
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = BackendChoice.class, names = {"IPTABLES_NFT", "NFT"})
    void aStricterReapplyStopsEarlierTcpAndUdpFlowsItForbidsWithinOneSecondAndKeepsAnAllowedStream(BackendChoice backend)
            throws Exception {
        DefaultEnforcer enforcer = enforcer(backend);
        assertThat(enforcer.enforce(request(policy(BLOCKED_TCP + "/tcp", BLOCKED_UDP + "/udp", ALLOWED_TCP + "/tcp")))
                .status()).isEqualTo("applied");
        openStreams();

        EnforcementResult stricter = enforcer.enforce(request(policy(ALLOWED_TCP + "/tcp")));
        assertThat(stricter.status()).as("%s", stricter).isEqualTo("applied");
        assertThat(stricter.backend()).isEqualTo(wire(backend));

        assertForbiddenFlowsStopAndAllowedGoesOn(true);
        assertNoConntrackProcess();
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = BackendChoice.class, names = {"IPTABLES_NFT", "NFT"})
    void theQuarantineStopsEarlierFlowsToo(BackendChoice backend) throws Exception {
        DefaultEnforcer enforcer = enforcer(backend);
        assertThat(enforcer.enforce(request(policy(BLOCKED_TCP + "/tcp", BLOCKED_UDP + "/udp", ALLOWED_TCP + "/tcp")))
                .status()).isEqualTo("applied");
        openStreams();

        EnforcementResult failed = enforcer.failClosed(null, null, net.containerPid(), ErrorCode.POLICY_NOT_FOUND, "gone");
        assertThat(failed.quarantined()).isTrue();
        assertThat(failed.backend()).isEqualTo(wire(backend));

        assertForbiddenFlowsStopAndAllowedGoesOn(false);
        assertNoConntrackProcess();
    }

    /**
     * The flush can miss an entry: a packet that passed OUTPUT under the old rules is only entered in
     * the connection-tracking table when it leaves (confirmed after POSTROUTING), so a packet
     * preempted in between, or on another core while the apply commits and flushes, brings its
     * entry in after the flush. Such an entry must not carry the flow on: the established accept
     * takes a connection's replies only, and what the workload sends on it is judged by the
     * current rules packet by packet. Shown by applying the stricter policy with an enforcer that
     * does not flush at all (every earlier entry outlives it), on the code before which both
     * forbidden flows went on.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(value = BackendChoice.class, names = {"IPTABLES_NFT", "NFT"})
    void aConnectionTrackingEntryThatOutlivesTheFlushCarriesNoPacketTheNewRulesForbid(BackendChoice backend)
            throws Exception {
        assertThat(enforcer(backend).enforce(request(policy(BLOCKED_TCP + "/tcp", BLOCKED_UDP + "/udp",
                ALLOWED_TCP + "/tcp"))).status()).isEqualTo("applied");
        openStreams();

        DefaultEnforcer noFlush = EnforcerVariants.withoutContainment(config(backend), recordingRunner(), Clock.systemUTC(),
                new SimpleMeterRegistry());
        EnforcementResult stricter = noFlush.enforce(request(policy(ALLOWED_TCP + "/tcp")));
        assertThat(stricter.status()).as("%s", stricter).isEqualTo("applied");
        assertThat(conntrackEntries()).as("the earlier flows' entries, left in place")
                .contains("dport=" + BLOCKED_TCP, "dport=" + BLOCKED_UDP);

        assertForbiddenFlowsStopAndAllowedGoesOn(true);
    }

    /**
     * Review 190: an entry the flush misses (a datagram that passed OUTPUT under the old plan and was
     * entered after the flush; reproduced once in about 6,300 applies under load) let the old
     * destination's datagrams in as replies for as long as it kept sending. Each plan now marks the
     * connections its accepts let through and takes replies only of connections it marked, so such
     * an entry (the old plan's mark) carries nothing in. The missed flush is made certain here by
     * applying the new plan without one; the entry is the old plan's own, opened under it.
     * nft backends only: the iptables backends mark nothing (README).
     */
    @org.junit.jupiter.api.Test
    void anEntryOfTheOldPlanThatOutlivesTheFlushLetsNoReplyIn() throws Exception {
        int local = 7404;
        int remote = 7405; // nothing listens there: the peer's own sender binds it
        assertThat(enforcer(BackendChoice.NFT).enforce(request(policy(remote + "/udp"))).status()).isEqualTo("applied");
        python(net.containerNs(), local, net.peerV4(), remote, 1); // the flow opened under the old plan
        assertThat(conntrackEntries()).contains("sport=" + local + " dport=" + remote);

        DefaultEnforcer noFlush = EnforcerVariants.withoutContainment(config(BackendChoice.NFT), recordingRunner(),
                Clock.systemUTC(), new SimpleMeterRegistry());
        assertThat(noFlush.enforce(request(policy(ALLOWED_TCP + "/tcp"))).status()).isEqualTo("applied");
        assertThat(conntrackEntries()).as("the old plan's entry, left in place as a missed flush leaves it")
                .contains("sport=" + local + " dport=" + remote);
        assertThat(net.containerAgent().send("listen udp " + local)).isEqualTo("OK");

        python(net.peerNs(), remote, net.containerV4(), local, 5); // the old destination keeps sending

        assertThat(net.containerAgent().send("seen " + local)).as("datagrams let in as replies").isEqualTo("NONE");
    }

    /** {@code count} datagrams, 100 ms apart, from port {@code from} in namespace {@code ns} to host:port. */
    private static void python(String ns, int from, String host, int port, int count) throws Exception {
        String code = "import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('0.0.0.0'," + from
                + "))\nfor i in range(" + count + "):\n    s.sendto(b'x',('" + host + "'," + port
                + "))\n    time.sleep(0.1)\n";
        var r = new ProcessCommandRunner().run(List.of("ip", "netns", "exec", ns, dev.netfence.testkit.Python.EXE, "-c",
                code), null, Duration.ofSeconds(10));
        assertThat(r.exitCode()).as("%s", r.stderr()).isZero();
    }

    /**
     * A download from an allowed server (the workload only reads; it sends nothing but the ACKs
     * its kernel sends when data arrives) goes on across a re-apply: after the flush, the server's
     * next segment is the first packet of the flow the table sees again.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(value = BackendChoice.class, names = {"IPTABLES_NFT", "NFT"})
    void anAllowedDownloadGoesOnAcrossAReapply(BackendChoice backend) throws Exception {
        assertThat(net.peerAgent().send("listen source " + DOWNLOAD)).isEqualTo("OK");
        DefaultEnforcer enforcer = enforcer(backend);
        assertThat(enforcer.enforce(request(policy(DOWNLOAD + "/tcp"))).status()).isEqualTo("applied");
        assertThat(net.containerAgent().send("stream open download download " + net.peerV4() + " " + DOWNLOAD))
                .isEqualTo("OK");
        Streams.awaitFlowing(net.containerAgent(), "download");

        assertThat(enforcer.enforce(request(policy(DOWNLOAD + "/tcp", ALLOWED_TCP + "/tcp"))).status()).isEqualTo("applied");
        Thread.sleep(1000);
        long after = count("download");
        Thread.sleep(1500);
        assertThat(count("download")).as("bytes of the download after the re-apply").isGreaterThan(after);
    }

    /** The container namespace's connection-tracking table, as the {@code conntrack} tool lists it. */
    private String conntrackEntries() throws Exception {
        var r = new ProcessCommandRunner().run(List.of("ip", "netns", "exec", net.containerNs(), "conntrack", "-L"), null,
                Duration.ofSeconds(5));
        return r.stdout();
    }

    /** The flush is in-process on both backends: no {@code conntrack} tool process was started for any apply. */
    private void assertNoConntrackProcess() {
        synchronized (ran) {
            assertThat(ran).as("commands run").noneMatch(argv -> argv.contains("conntrack"));
        }
    }

    private void openStreams() throws Exception {
        Agent container = net.containerAgent();
        String peer = net.peerV4();
        assertThat(container.send("stream open blocked-tcp tcp " + peer + " " + BLOCKED_TCP)).isEqualTo("OK");
        assertThat(container.send("stream open blocked-udp udp " + peer + " " + BLOCKED_UDP)).isEqualTo("OK");
        assertThat(container.send("stream open allowed-tcp tcp " + peer + " " + ALLOWED_TCP)).isEqualTo("OK");
        Streams.awaitFlowing(container, "blocked-tcp", "blocked-udp", "allowed-tcp");
    }

    private void assertForbiddenFlowsStopAndAllowedGoesOn(boolean allowedGoesOn) throws Exception {
        Streams.assertForbiddenStopAndAllowedGoesOn(net.containerAgent(), List.of("blocked-tcp", "blocked-udp"),
                "allowed-tcp", allowedGoesOn);
    }

    /** The outcome's {@code backend} for the two choices tested. */
    private static String wire(BackendChoice backend) {
        return backend == BackendChoice.NFT ? "nft" : "iptables-nft";
    }

    private long count(String stream) throws Exception {
        return Streams.count(net.containerAgent(), stream);
    }

    private NetworkPolicy policy(String... ports) {
        return Streams.allowingOnly(net.peerV4(), ports);
    }

    private EnforcementRequest request(NetworkPolicy policy) {
        return new EnforcementRequest(null, null, net.containerPid(), policy, Clock.systemUTC().instant().plusSeconds(20));
    }

    private DefaultEnforcer enforcer(BackendChoice backend) {
        return new DefaultEnforcer(config(backend), recordingRunner(), Clock.systemUTC(), new SimpleMeterRegistry());
    }

    private static EnforcerConfig config(BackendChoice backend) {
        return EnforcerConfig.custom().backend(backend).backoff(Duration.ofMillis(10), Duration.ofMillis(50)).build();
    }

    private CommandRunner recordingRunner() {
        return (argv, stdin, timeout) -> {
            ran.add(argv);
            return new ProcessCommandRunner().run(argv, stdin, timeout);
        };
    }
}
