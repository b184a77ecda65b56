package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The host guard's router-advertisement rule against a real podman container whose policy leaves
 * IPv6 egress open ({@code outbound: true}, the default blocked subnets): there the plan's own
 * rules accept the IPv6 the container sends to any destination outside those subnets, so a
 * workload holding {@code CAP_NET_RAW} could announce itself as a router (and a prefix) to a
 * neighbour, which accepts a router advertisement from a link-local source addressed to any of its
 * own addresses, and draw its IPv6 traffic. (Sent to all nodes, or to a link-local address, the
 * default blocked subnets ff00::/8 and fe80::/10 drop it already; a policy with a blocked list of
 * its own may not.) The guard's binding drops router advertisements, redirects and router
 * renumbering from a sandbox. A raw router advertisement from the container's own link-local
 * address and MAC to a global address, after its in-namespace rules were flushed, never reaches
 * the bridge with {@code --host-guard auto}; with {@code off} it does, which shows the proof can
 * fail. A neighbour advertisement for its own address, sent last, reaches the bridge both ways:
 * the guard does not pass by dropping all IPv6, and the advertisement had time to arrive.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class HostGuardRouterAdvertisementPodmanTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    static ForgedFrames.Scripts scripts;

    @BeforeAll
    static void writeTheScripts() throws IOException {
        scripts = ForgedFrames.Scripts.write();
    }

    @AfterAll
    static void removeThem() throws IOException {
        if (scripts != null) {
            scripts.close();
        }
    }

    private GuardedEnforcer enforcer;
    private ForgedFrames.Tap tap;

    @AfterEach
    void releaseGuardAndTap() {
        if (tap != null) {
            tap.close();
        }
        if (enforcer != null) {
            enforcer.close();
        }
    }

    @ParameterizedTest(name = "host guard {0}")
    @EnumSource(value = HostGuardMode.class, names = {"AUTO", "OFF"})
    void aRouterAdvertisementFromASandboxWithOpenIpv6EgressNeverReachesTheBridge(HostGuardMode mode) throws Exception {
        PodmanContainer container = PODMAN.sandbox();
        enforcer = GuardedEnforcer.create(mode);
        assertThat(enforcer.apply(container, "{\"schemaVersion\":1,\"mode\":\"bridge\",\"dns\":false,"
                + "\"outbound\":true,\"inbound\":false}").guards())
                .isEqualTo(mode == HostGuardMode.AUTO ? List.of("netns", "host") : List.of("netns"));
        HostGuardPodmanTest.flushInNamespaceRules(container);
        BindingSandbox s = new BindingSandbox(container, scripts.sender(), 0);
        String own = s.linkLocal();
        tap = new ForgedFrames.Tap(scripts.listener(), s.bridge, "nd");

        // a neighbour's global address (the documentation prefix: podman's bridge has none of its own)
        String advertisement = s.ra(own, "2001:db8:ffff::1");
        String control = s.na(own, own);
        List<String> seen = tap.framesAfter(control);
        s.assertGuardedOnlyAs(mode);

        assertThat(seen).as("neighbour discovery frames on %s", s.bridge).contains(control);
        if (mode == HostGuardMode.AUTO) {
            assertThat(seen).as("router advertisements from %s on %s", own, s.bridge).doesNotContain(advertisement)
                    .noneMatch(f -> f.startsWith("RA "));
        } else {
            assertThat(seen).as("without the guard the router advertisement reaches the bridge").contains(advertisement);
        }
    }
}
