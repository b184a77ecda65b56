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
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link Ipv6LearntKernelTest}'s advertisement in a real podman container (netavark bridge, the
 * cgroup check on, the default backend): a neighbour container on the bridge (root in its own
 * namespace, as a container holding CAP_NET_RAW is) sends the sandbox, before its rules, a router
 * advertisement making itself a default router of high preference and a /64 on-link. The sandbox
 * takes both (netavark leaves {@code accept_ra} on; it turns {@code autoconf} off, so no address
 * is made, and the kernel's default ignores route information: {@link Ipv6LearntKernelTest} proves
 * those), and its allowed connections to a destination in the on-link prefix and to one behind the
 * advertised router are served by the neighbour, which holds both. After the apply the learnt
 * routes are gone and neither allowed connection reaches the neighbour (podman's default bridge
 * gives the sandbox no IPv6 route of its own, so they fail). The advertisement goes to the
 * sandbox's link-local address, not to all nodes, so the host's end of the bridge never takes it.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class Ipv6LearntPodmanTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    private static final String ON_LINK = "2001:db8:4a::10";
    private static final String ROUTED = "2001:db8:4d::20";

    @Test
    void whatANeighbourContainersAdvertisementTaughtThePodmanSandboxBeforeTheApplyIsGoneAfterIt() throws Exception {
        PodmanContainer neighbour = PODMAN.peer(8080);
        PodmanContainer sandbox = PODMAN.sandbox();
        String neighbourLl = ForeignSourcePodmanTest.linkLocal(neighbour);
        String sandboxLl = ForeignSourcePodmanTest.linkLocal(sandbox);
        in(neighbour, "ip", "-6", "addr", "add", ON_LINK + "/128", "dev", "eth0", "nodad");
        in(neighbour, "ip", "-6", "addr", "add", ROUTED + "/128", "dev", "lo");

        await("the sandbox takes the neighbour's advertisement").atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(200)).until(() -> {
                    in(neighbour, "/usr/bin/python3", "-c", Ipv6LearntKernelTest.ADVERTISE, "65535", "high",
                            "onlink=2001:db8:4a::", "to=" + sandboxLl);
                    String routes = in(sandbox, "ip", "-6", "route", "show");
                    return routes.contains("default via " + neighbourLl + " dev eth0 proto ra")
                            && routes.contains("2001:db8:4a::/64 dev eth0");
                });
        assertThat(sandbox.agent().send("tcp " + ON_LINK + " 8080 2000")).as("without rules, the on-link prefix's holder")
                .isEqualTo("OK");
        assertThat(sandbox.agent().send("tcp " + ROUTED + " 8080 2000")).as("without rules, the advertised router's")
                .isEqualTo("OK");

        EnforcementResult applied = SandboxEnforcement.enforce(sandbox, "{\"schemaVersion\":1,\"mode\":\"bridge\","
                + "\"allowedEndpoints\":[\"[" + ON_LINK + "]:8080\",\"[" + ROUTED + "]:8080\",\"" + neighbour.ipv4()
                + ":8080\"],\"dns\":false,\"outbound\":false,\"inbound\":false}");
        assertThat(applied.status()).as("%s", applied).isEqualTo("applied");

        assertThat(in(sandbox, "ip", "-6", "route", "show", "table", "all", "proto", "ra")).as("routes of protocol ra")
                .isBlank();
        String routes = in(sandbox, "ip", "-6", "route", "show", "table", "all");
        assertThat(routes).as("the advertised prefix's route").doesNotContain("2001:db8:4a::/64");
        assertThat(routes).as("the runtime's link-local route").contains("fe80::/64 dev eth0 proto kernel");
        // sent again after the apply: the rules drop it (RouterAdvertisementPodmanTest proves that at length)
        in(neighbour, "/usr/bin/python3", "-c", Ipv6LearntKernelTest.ADVERTISE, "65535", "high", "onlink=2001:db8:4a::",
                "to=" + sandboxLl);
        Thread.sleep(500);
        assertThat(in(sandbox, "ip", "-6", "route", "show", "table", "all", "proto", "ra")).as("after a new advertisement")
                .isBlank();
        assertThat(sandbox.agent().send("tcp " + ON_LINK + " 8080 2000")).as("the allowed destination made on-link")
                .isNotEqualTo("OK");
        assertThat(sandbox.agent().send("tcp " + ROUTED + " 8080 2000")).as("the allowed destination behind the advertised router")
                .isNotEqualTo("OK");
        assertThat(sandbox.agent().send("tcp " + neighbour.ipv4() + " 8080 2000")).as("what the policy allows over IPv4")
                .isEqualTo("OK");
    }

    /** Runs argv as root in {@code container}'s network namespace; its stdout. */
    private static String in(PodmanContainer container, String... argv) {
        List<String> all = new ArrayList<>(List.of("nsenter", "-t", String.valueOf(container.pid()), "-n"));
        all.addAll(List.of(argv));
        return Sh.ok(all.toArray(String[]::new));
    }
}
