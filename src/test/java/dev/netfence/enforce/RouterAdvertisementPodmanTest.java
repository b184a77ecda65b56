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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link RouterAdvertisementKernelTest} against a real podman container (netavark bridge, the
 * cgroup check on, the default backend): a neighbour container on the bridge (the probe runs as
 * root from the host inside its namespace, as a neighbour holding CAP_NET_RAW would) advertises
 * itself as a default router to the sandbox's link-local address. Unicast, so that the host's own
 * bridge interface never processes it. netavark turns address autoconfiguration off in its
 * containers but leaves {@code accept_ra} on, so before the apply the sandbox routes IPv6 through
 * the neighbour (and hands the advertisement's other options to any process listening); after
 * it, not, with inbound open even.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class RouterAdvertisementPodmanTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    @Test
    void aNeighbourContainersRouterAdvertisementChangesNothingInTheAppliedPodmanSandbox() throws Exception {
        PodmanContainer neighbour = PODMAN.peer(8080);
        PodmanContainer sandbox = PODMAN.sandbox();
        String target = ForeignSourcePodmanTest.linkLocal(sandbox);
        ForeignSourcePodmanTest.linkLocal(neighbour);

        advertise(neighbour, "2001:db8:fa1::", target);
        await("without rules a podman container routes through the neighbour that advertised itself")
                .atMost(Duration.ofSeconds(10)).until(() -> routes(sandbox).contains("proto ra"));
        Sh.ok("nsenter", "-t", String.valueOf(sandbox.pid()), "-n", "ip", "-6", "route", "flush", "proto", "ra");
        assertThat(routes(sandbox)).doesNotContain("proto ra");

        EnforcementResult applied = SandboxEnforcement.enforce(sandbox, "{\"schemaVersion\":1,\"mode\":\"bridge\","
                + "\"allowedEndpoints\":[\"" + neighbour.ipv4() + ":8080\"],\"dns\":false,\"outbound\":false,\"inbound\":true}");
        assertThat(applied.status()).as("%s", applied).isEqualTo("applied");
        for (int i = 0; i < 3; i++) {
            advertise(neighbour, "2001:db8:fa2::", target);
            sleep(300);
        }
        sleep(700);
        assertThat(routes(sandbox)).as("no route through the neighbour under the policy").doesNotContain("proto ra");
        assertThat(sandbox.agent().send("tcp " + neighbour.ipv4() + " 8080 2000")).as("what the policy allows")
                .isEqualTo("OK");
    }

    /** An advertisement of a default router (lifetime 1800 s) and a prefix, to {@code to} (unicast). */
    private static void advertise(PodmanContainer from, String prefix, String to) {
        Sh.ok("nsenter", "-t", String.valueOf(from.pid()), "-n", "/usr/bin/python3", "-c",
                RouterAdvertisementKernelTest.ADVERTISE, prefix, to, "1800");
    }

    private static String routes(PodmanContainer container) {
        return Sh.ok("nsenter", "-t", String.valueOf(container.pid()), "-n", "ip", "-6", "route", "show");
    }


    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
