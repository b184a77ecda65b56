package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.app.HostGuardStart;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.rules.PlannedRules;
import dev.netfence.rules.RulePlanner;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.Python;
import dev.netfence.testkit.Sh;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code --host-guard off} after a run under {@code auto}, on the real kernel, with namespaces and
 * veth pairs the test makes (names starting {@code nf64a}, addresses in 198.18.0.0/15): the
 * earlier run's chains in {@code table netdev netfence} (one of a container still running, one of
 * a stopped container whose veth name the next container got, to which the kernel bound it) are
 * removed by the start of {@code netfence run}'s host guard wiring ({@link HostGuardStart}), after
 * which the datagrams the stale chain dropped reach the host; a chain written after the start (a
 * rolling update's overlap with an instance under {@code auto}) goes within a sweep. Nothing of the
 * host's ruleset outside netfence's table changes (HostRulesetGuard).
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class HostGuardOffKernelTest {
    private final GuardVeths veths = new GuardVeths("nf64a");
    private final PlannedRules plan = new RulePlanner().quarantine();
    private final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void cleanUp() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
        veths.cleanUp();
    }

    @Test
    void offRemovesTheChainsAnAutoRunLeftAndTheNewContainerOnAReusedVethNameIsNoLongerDropped() throws Exception {
        // the run under auto: two containers guarded
        GuardVeths.Container running = veths.container();
        GuardVeths.Container stopped = veths.container();
        HostGuards auto = GuardVeths.guards(HostGuardMode.AUTO);
        auto.apply("c-running", running.nsFile(), plan);
        auto.apply("c-stopped", stopped.nsFile(), plan);
        // netfence stops (its chains stay); the stopped container's veth goes and the next container gets its name
        Sh.ok("ip", "link", "del", stopped.hostSide());
        GuardVeths.awaitGone(stopped.hostSide());
        GuardVeths.Container next = veths.container(stopped.hostSide());
        String hostAddress = next.ipv4().substring(0, next.ipv4().lastIndexOf('.')) + ".1";
        Sh.ok("ip", "addr", "add", hostAddress + "/30", "dev", next.hostSide());
        Sh.ok("ip", "link", "set", next.hostSide(), "up");
        Sh.ok("ip", "-n", next.ns(), "link", "set", "eth0", "up");
        assertThat(GuardVeths.chains()).contains(running.hostSide(), next.hostSide());
        List<String> foreign = new ArrayList<>(GuardVeths.chains());
        foreign.removeAll(List.of(running.hostSide(), next.hostSide()));
        // what the start under off removes is every chain of the table: another run's too
        assertThat(foreign).as("chains of another netfence or test on this host, which this test would remove").isEmpty();

        try (HostUdpPort port = new HostUdpPort()) {
            sendFrom(next, hostAddress, port.port(), "before");
            assertThat(port.received("before-last")).as("the stale chain drops the new container's datagrams").isEmpty();

            HostGuardStart off = HostGuardStart.start(HostGuardMode.OFF, false, new ProcessCommandRunner(),
                    new SimpleMeterRegistry(), Duration.ofMillis(200));
            closing.add(off);

            assertThat(GuardVeths.chains()).doesNotContain(running.hostSide(), next.hostSide());
            assertThat(off.notReadyReason()).isEmpty();
            assertThat(off.guards().count()).isZero();
            port.drain();
            sendFrom(next, hostAddress, port.port(), "after");
            assertThat(port.received("after-last")).anyMatch(d -> d.equals(next.ipv4() + " after-last"));
        }

        // a rolling update's overlap: the old instance under auto writes a chain after the start under off
        auto.apply("c-running", running.nsFile(), plan);
        assertThat(GuardVeths.chains()).contains(running.hostSide());
        await().atMost(Duration.ofSeconds(10)).until(() -> !GuardVeths.chains().contains(running.hostSide()));
    }

    /** Datagrams from {@code c}'s namespace to {@code address}:{@code port}, the last with payload {@code <tag>-last}. */
    private static void sendFrom(GuardVeths.Container c, String address, int port, String tag) {
        String script = "import socket, time\n"
                + "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                + "for i in range(6):\n"
                + "    try:\n"
                + "        s.sendto(('" + tag + "-%d' % i if i < 5 else '" + tag + "-last').encode(), ('" + address + "', "
                + port + "))\n"
                + "    except OSError:\n"
                + "        pass\n"
                + "    time.sleep(0.1)\n";
        Sh.ok("ip", "netns", "exec", c.ns(), Python.EXE, "-c", script);
    }
}
