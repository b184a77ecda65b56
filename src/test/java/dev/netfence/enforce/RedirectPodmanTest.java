package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.core.EnforcementResult;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import dev.netfence.testkit.Sh;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link RedirectKernelTest} against a real podman container (netavark bridge, the cgroup check
 * on, the default backend), inbound closed: the sandbox reaches an allowed destination through a
 * neighbour container (a route of the test's; the host's own gateway would route the destination
 * off the machine), and a second neighbour (the probe runs as root from the host inside its
 * namespace, as a neighbour holding CAP_NET_RAW would) forges that gateway's redirect naming
 * itself. The container's namespace inherits the node's {@code accept_redirects}; the test turns it
 * on there, the kernel's default, and turns forwarding off in both neighbours so nothing leaves the
 * bridge. Before the apply the sandbox takes the redirect; the apply forgets it, and after it the
 * redirect is not taken again.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class RedirectPodmanTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    @Test
    void aNeighbourContainersForgedRedirectMovesNothingInTheAppliedPodmanSandbox() throws Exception {
        PodmanContainer gateway = PODMAN.peer(8080);
        PodmanContainer rogue = PODMAN.peer(8081);
        PodmanContainer sandbox = PODMAN.sandbox();
        for (PodmanContainer neighbour : java.util.List.of(gateway, rogue)) {
            in(neighbour, "sysctl", "-qw", "net.ipv4.ip_forward=0");
        }
        in(sandbox, "sysctl", "-qw", "net.ipv4.conf.all.accept_redirects=1", "net.ipv4.conf.eth0.accept_redirects=1");
        in(sandbox, "ip", "route", "add", RedirectKernelTest.DESTINATION + "/32", "via", gateway.ipv4());
        Process flow = new ProcessBuilder("nsenter", "-t", String.valueOf(sandbox.pid()), "-n", "/usr/bin/python3", "-c",
                RedirectKernelTest.FLOW, sandbox.ipv4(), Integer.toString(RedirectKernelTest.SOURCE_PORT),
                RedirectKernelTest.DESTINATION, Integer.toString(RedirectKernelTest.DESTINATION_PORT))
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            await("without rules a podman container takes the forged redirect").atMost(Duration.ofSeconds(10))
                    .until(() -> { redirect(rogue, gateway, sandbox); return route(sandbox).contains("redirected"); });
            EnforcementResult applied = SandboxEnforcement.enforce(sandbox, "{\"schemaVersion\":1,\"mode\":\"bridge\","
                    + "\"allowedEndpoints\":[\"" + RedirectKernelTest.DESTINATION + ":" + RedirectKernelTest.DESTINATION_PORT
                    + "/udp\"],\"dns\":false,\"outbound\":false,\"inbound\":false}");
            assertThat(applied.status()).as("%s", applied).isEqualTo("applied");
            assertThat(route(sandbox)).as("the redirect taken before the apply is forgotten by it")
                    .contains("via " + gateway.ipv4()).doesNotContain("redirected");
            Thread.sleep(300); // the flow's next datagram, after the apply's flush, is tracked again
            for (int i = 0; i < 4; i++) {
                redirect(rogue, gateway, sandbox);
                Thread.sleep(200);
            }
            assertThat(route(sandbox)).as("the route to the allowed destination under the policy")
                    .contains("via " + gateway.ipv4()).doesNotContain("redirected");
        } finally {
            flow.destroyForcibly();
            flow.waitFor(5, TimeUnit.SECONDS);
        }
    }

    /** From {@code rogue}: {@code gateway}'s redirect for the sandbox's flow, naming {@code rogue}. */
    private static void redirect(PodmanContainer rogue, PodmanContainer gateway, PodmanContainer sandbox) {
        Sh.ok("nsenter", "-t", String.valueOf(rogue.pid()), "-n", "/usr/bin/python3", "-c", RedirectKernelTest.REDIRECT,
                gateway.ipv4(), sandbox.ipv4(), rogue.ipv4(), RedirectKernelTest.DESTINATION,
                Integer.toString(RedirectKernelTest.SOURCE_PORT), Integer.toString(RedirectKernelTest.DESTINATION_PORT));
    }

    private static String route(PodmanContainer container) {
        return Sh.ok("nsenter", "-t", String.valueOf(container.pid()), "-n", "ip", "route", "get",
                RedirectKernelTest.DESTINATION);
    }

    private static void in(PodmanContainer container, String... argv) {
        String[] all = new String[argv.length + 4];
        System.arraycopy(new String[] {"nsenter", "-t", String.valueOf(container.pid()), "-n"}, 0, all, 0, 4);
        System.arraycopy(argv, 0, all, 4, argv.length);
        Sh.ok(all);
    }

}
