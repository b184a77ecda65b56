package dev.netfence.enforce;

import static dev.netfence.enforce.PodmanEnforcement.allowing;
import static dev.netfence.enforce.PodmanEnforcement.config;
import static dev.netfence.enforce.PodmanEnforcement.enforcer;
import static dev.netfence.enforce.PodmanEnforcement.request;
import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.testkit.Agent;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import dev.netfence.testkit.Sh;
import dev.netfence.testkit.Streams;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The two rules that keep an apply's flush honest, against real podman containers (netavark
 * bridge, {@code libpod-<id>} cgroups, cgroup check on), on both backends: the established accepts
 * take a connection's replies only, so a tracking entry that outlives the flush carries nothing
 * the new rules forbid (shown with an enforcer that does not flush at all: every entry outlives
 * it); and with {@code inbound} off each allowed TCP endpoint's segments without SYN are let in,
 * so a download from an allowed server goes on after the flush forgot its connection.
 * {@link ConntrackFlushKernelTest} proves the same on the test's own namespaces.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class ReplyDirectionPodmanKernelTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    private static final int HTTP = 8080;
    private static final int BLOCKED_TCP = 7410;
    private static final int BLOCKED_UDP = 7411;
    private static final int ALLOWED_TCP = 7412;
    private static final int DOWNLOAD = 7413;

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = BackendChoice.class, names = {"IPTABLES_NFT", "NFT"})
    void anEntryThatOutlivesTheFlushCarriesNothingTheNewRulesForbidOutOfAContainer(BackendChoice backend)
            throws Exception {
        PodmanContainer peer = PODMAN.peer(HTTP);
        PodmanContainer sandbox = PODMAN.sandbox();
        Agent echo = peer.agent();
        for (String listen : new String[] {"listen echo " + BLOCKED_TCP, "listen udp " + BLOCKED_UDP,
                "listen echo " + ALLOWED_TCP}) {
            assertThat(echo.send(listen)).isEqualTo("OK");
        }
        assertThat(enforcer(backend).enforce(request(sandbox, allowing(peer, BLOCKED_TCP + "/tcp", BLOCKED_UDP + "/udp",
                ALLOWED_TCP + "/tcp"))).status()).isEqualTo("applied");
        Agent streams = sandbox.agent();
        assertThat(streams.send("stream open blocked-tcp tcp " + peer.ipv4() + " " + BLOCKED_TCP)).isEqualTo("OK");
        assertThat(streams.send("stream open blocked-udp udp " + peer.ipv4() + " " + BLOCKED_UDP)).isEqualTo("OK");
        assertThat(streams.send("stream open allowed tcp " + peer.ipv4() + " " + ALLOWED_TCP)).isEqualTo("OK");
        Streams.awaitFlowing(streams, "blocked-tcp", "blocked-udp", "allowed");

        DefaultEnforcer noFlush = EnforcerVariants.withoutContainment(config(backend), new ProcessCommandRunner(),
                Clock.systemUTC(), new SimpleMeterRegistry());
        EnforcementResult stricter = noFlush.enforce(request(sandbox, allowing(peer, ALLOWED_TCP + "/tcp")));
        assertThat(stricter.status()).as("%s", stricter).isEqualTo("applied");
        assertThat(Sh.ok("nsenter", "-t", Integer.toString(sandbox.pid()), "-n", "conntrack", "-L"))
                .as("the earlier flows' entries, left in place").contains("dport=" + BLOCKED_TCP, "dport=" + BLOCKED_UDP);

        Streams.assertForbiddenStopAndAllowedGoesOn(streams, List.of("blocked-tcp", "blocked-udp"), "allowed", true);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = BackendChoice.class, names = {"IPTABLES_NFT", "NFT"})
    void aDownloadFromAnAllowedServerGoesOnAcrossAReapplyWithInboundOff(BackendChoice backend) throws Exception {
        PodmanContainer peer = PODMAN.peer(HTTP);
        PodmanContainer sandbox = PODMAN.sandbox();
        assertThat(peer.agent().send("listen source " + DOWNLOAD)).isEqualTo("OK");
        DefaultEnforcer enforcer = enforcer(backend);
        assertThat(enforcer.enforce(request(sandbox, allowing(peer, DOWNLOAD + "/tcp"))).status()).isEqualTo("applied");
        Agent client = sandbox.agent();
        assertThat(client.send("stream open download download " + peer.ipv4() + " " + DOWNLOAD)).isEqualTo("OK");
        Streams.awaitFlowing(client, "download");

        EnforcementResult reapplied = enforcer.enforce(request(sandbox, allowing(peer, DOWNLOAD + "/tcp", HTTP + "/tcp")));
        assertThat(reapplied.status()).as("%s", reapplied).isEqualTo("applied");
        Thread.sleep(1000);
        long after = Streams.count(client, "download");
        Thread.sleep(1500);
        assertThat(Streams.count(client, "download")).as("bytes of the download after the re-apply").isGreaterThan(after);
    }
}
