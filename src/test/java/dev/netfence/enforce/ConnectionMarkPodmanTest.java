package dev.netfence.enforce;

import static dev.netfence.enforce.PodmanEnforcement.allowing;
import static dev.netfence.enforce.PodmanEnforcement.config;
import static dev.netfence.enforce.PodmanEnforcement.enforcer;
import static dev.netfence.enforce.PodmanEnforcement.request;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.core.EnforcementResult;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.CommandResult;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.testkit.Agent;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import dev.netfence.testkit.Python;
import dev.netfence.testkit.Sh;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The plan's connection mark against real podman containers (runc, netavark bridge,
 * {@code libpod-<id>} cgroups, cgroup check on), on the nft backend (the iptables backends mark
 * nothing yet: README, "Rules inside the namespace"): a connection-tracking entry the
 * sandbox opened under an old plan and the apply's flush missed lets none of the old destination's
 * datagrams in as replies once a new plan is in force, because the established accept takes only
 * replies of connections the current plan marked. The missed flush is made certain by applying
 * the new plan with an enforcer that does not flush; the control shows the same datagrams do
 * arrive while the old plan is still in force, so the listener and the path work and "nothing
 * arrived" is the rules' doing. {@link ConntrackFlushKernelTest} proves the same on the test's own
 * namespaces; this one proves it where it matters, in a container's namespace.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class ConnectionMarkPodmanTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    private static final int HTTP = 8080;
    /** The sandbox's source port of the flow, where its listener later waits for the old destination's datagrams. */
    private static final int LOCAL = 7420;
    /** The peer's port the policy A allows; nothing listens there: the peer's own sender binds it. */
    private static final int REMOTE = 7421;

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = BackendChoice.class, names = {"NFT"})
    void anEntryOfTheOldPlanThatOutlivesTheFlushLetsNoReplyIntoTheContainer(BackendChoice backend) throws Exception {
        PodmanContainer peer = PODMAN.peer(HTTP);
        PodmanContainer sandbox = PODMAN.sandbox();
        openUnderTheOldPlan(backend, sandbox, peer);

        DefaultEnforcer noFlush = EnforcerVariants.withoutContainment(config(backend), new ProcessCommandRunner(),
                Clock.systemUTC(), new SimpleMeterRegistry());
        EnforcementResult b = noFlush.enforce(request(sandbox, allowing(peer, HTTP + "/tcp")));
        assertThat(b.status()).as("%s", b).isEqualTo("applied");
        assertThat(conntrack(sandbox)).as("the old plan's entry, left in place as a missed flush leaves it")
                .contains(flow(sandbox, peer));
        Agent listener = listen(sandbox);

        send(peer, REMOTE, sandbox.ipv4(), LOCAL, 5); // the old destination keeps sending
        Thread.sleep(500); // a datagram that got through is recorded by then (the sender has already returned)

        assertThat(listener.send("seen " + LOCAL)).as("datagrams let in as replies, %s", backend).isEqualTo("NONE");
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = BackendChoice.class, names = {"NFT"})
    void whileTheOldPlanIsStillInForceTheSameDatagramsArrive(BackendChoice backend) throws Exception {
        PodmanContainer peer = PODMAN.peer(HTTP);
        PodmanContainer sandbox = PODMAN.sandbox();
        openUnderTheOldPlan(backend, sandbox, peer);
        Agent listener = listen(sandbox);

        send(peer, REMOTE, sandbox.ipv4(), LOCAL, 5);

        // recorded by the listener's thread after each datagram came in: waited for
        String each = "udp/" + peer.ipv4();
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(listener.send("seen " + LOCAL))
                .as("the peer's replies under the plan that opened the flow, %s", backend)
                .isEqualTo(String.join(" ", each, each, each, each, each)));
    }

    /** Plan A (udp to the peer's {@link #REMOTE}) applied, and the flow from {@link #LOCAL} opened under it. */
    private static void openUnderTheOldPlan(BackendChoice backend, PodmanContainer sandbox, PodmanContainer peer) {
        EnforcementResult a = enforcer(backend).enforce(request(sandbox, allowing(peer, REMOTE + "/udp")));
        assertThat(a.status()).as("%s", a).isEqualTo("applied");
        send(sandbox, LOCAL, peer.ipv4(), REMOTE, 1);
        assertThat(conntrack(sandbox)).as("the flow's entry").contains(flow(sandbox, peer));
    }

    /**
     * A listener in the sandbox's namespace that records every datagram to {@link #LOCAL} and answers
     * none ({@code listen any}): an echo would be the sandbox's own traffic, and one the current
     * plan refuses would end an echoing listener at the first datagram.
     */
    private static Agent listen(PodmanContainer sandbox) throws Exception {
        Agent listener = sandbox.agent();
        assertThat(listener.send("listen any " + LOCAL)).isEqualTo("OK");
        return listener;
    }

    /** The flow's original direction as {@code conntrack -L} prints it. */
    private static String flow(PodmanContainer sandbox, PodmanContainer peer) {
        return "src=" + sandbox.ipv4() + " dst=" + peer.ipv4() + " sport=" + LOCAL + " dport=" + REMOTE;
    }

    /** The container namespace's connection-tracking table ({@code nsenter -t PID -n conntrack -L}). */
    private static String conntrack(PodmanContainer c) {
        return Sh.ok("nsenter", "-t", Integer.toString(c.pid()), "-n", "conntrack", "-L");
    }

    /** {@code count} datagrams, 100 ms apart, from port {@code from} in {@code c}'s namespace to host:port. */
    private static void send(PodmanContainer c, int from, String host, int port, int count) {
        String code = "import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('0.0.0.0'," + from
                + "))\nfor i in range(" + count + "):\n    s.sendto(b'x',('" + host + "'," + port
                + "))\n    time.sleep(0.1)\n";
        CommandResult r = Sh.run("nsenter", "-t", Integer.toString(c.pid()), "-n", Python.EXE, "-c", code);
        assertThat(r.exitCode()).as("%s", r.stderr()).isZero();
    }
}
