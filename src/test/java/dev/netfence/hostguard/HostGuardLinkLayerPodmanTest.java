package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import java.util.List;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The link-layer address that neighbour discovery messages carry in an option, against a real podman
 * container whose workload sends raw frames (as CAP_NET_RAW allows): an advertisement for its own
 * address giving another MAC (plainly, behind an unknown option that receivers skip, and behind a
 * destination options header), a
 * solicitation from its own address giving one, and a router solicitation giving one would each
 * make the bridge's other hosts, the gateway included, send the traffic of the workload's own
 * address to that MAC. With {@code --host-guard auto} none of them reaches the bridge while the
 * same messages giving the workload's own MAC do; with {@code off} all arrive, which shows the
 * proof can fail. An advertisement behind an extension header (a destination options header, or
 * a hop-by-hop header carrying a kilobyte of text in options receivers skip) never reaches it even
 * giving the workload's own MAC. And an advertisement split into IPv6 fragments, its first ending before the
 * target, with outbound traffic open: its first fragment never reaches the bridge (without it the
 * rest cannot be reassembled), while without the guard both do.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class HostGuardLinkLayerPodmanTest extends ForgedFrameProof {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    /** Outbound open: the chain ends accepting IPv6, so only the binding's rules stand before a fragment. */
    private static final String OPEN = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"dns\":false,\"outbound\":true,"
            + "\"inbound\":false}";

    @ParameterizedTest(name = "host guard {0}")
    @EnumSource(value = HostGuardMode.class, names = {"AUTO", "OFF"})
    void neighbourDiscoveryGivingAnotherMacForItsOwnAddressNeverReachesTheBridgeWhileItsOwnMacDoes(HostGuardMode mode)
            throws Exception {
        PodmanContainer workload = PODMAN.sandbox();
        BindingSandbox s = flushedSandbox(mode, workload, CLOSED);
        String own = s.linkLocal();
        String plain = ForgedFrames.randomMac();
        String hidden = ForgedFrames.randomMac();
        String solicited = ForgedFrames.randomMac();
        String routed = ForgedFrames.randomMac();
        String behind = ForgedFrames.randomMac();
        tap = new ForgedFrames.Tap(scripts.listener(), s.bridge, "ndll");

        List<String> forged = List.of(s.naGiving(own, own, plain, false), s.naGiving(own, own, hidden, true),
                s.nsGiving(own, "fe80::1", solicited), s.rsGiving(own, routed), s.naBehindOptionsGiving(own, own, behind));
        // a sandbox asks for no router (its plan lets no solicitation out), so the guard drops even its own
        String ownSolicitation = s.rsGiving(own, s.mac);
        List<String> controls = List.of(s.naGiving(own, own, s.mac, false), s.nsGiving(own, "fe80::1", s.mac));
        List<String> seen = tap.framesAfter(controls.get(controls.size() - 1));
        s.assertGuardedOnlyAs(mode);

        assertThat(seen).as("neighbour discovery frames on %s", s.bridge).containsAll(controls);
        if (mode == HostGuardMode.AUTO) {
            assertThat(seen).as("messages giving another MAC on %s", s.bridge).doesNotContainAnyElementsOf(forged)
                    .noneMatch(f -> List.of(plain, hidden, solicited, routed, behind).stream().anyMatch(f::endsWith));
            assertThat(seen).as("a router solicitation, its own MAC too").doesNotContain(ownSolicitation);
        } else {
            assertThat(seen).as("without the guard they reach the bridge").containsAll(forged).contains(ownSolicitation);
        }
    }

    @ParameterizedTest(name = "host guard {0}")
    @EnumSource(value = HostGuardMode.class, names = {"AUTO", "OFF"})
    void neighbourDiscoveryBehindAnExtensionHeaderNeverReachesTheBridgeEvenGivingItsOwnMacWhileThePlainMessageDoes(
            HostGuardMode mode) throws Exception {
        PodmanContainer workload = PODMAN.sandbox();
        BindingSandbox s = flushedSandbox(mode, workload, CLOSED);
        String own = s.linkLocal();
        tap = new ForgedFrames.Tap(scripts.listener(), s.bridge, "ndll");

        // a kilobyte of the workload's text in hop-by-hop options every receiver skips, to every neighbour
        List<String> behind = List.of(s.naCarryingGiving(own, own, s.mac), s.naBehindOptionsGiving(own, own, s.mac));
        String control = s.naGiving(own, own, s.mac, false);
        List<String> seen = tap.framesAfter(control);
        s.assertGuardedOnlyAs(mode);

        assertThat(seen).as("neighbour discovery frames on %s", s.bridge).contains(control);
        if (mode == HostGuardMode.AUTO) {
            assertThat(seen).as("messages behind extension headers on %s", s.bridge).doesNotContainAnyElementsOf(behind);
        } else {
            assertThat(seen).as("without the guard they reach the bridge").containsAll(behind);
        }
    }

    @ParameterizedTest(name = "host guard {0}")
    @EnumSource(value = HostGuardMode.class, names = {"AUTO", "OFF"})
    void anAdvertisementSplitIntoFragmentsPastTheTargetAndOptionChecksNeverHasItsFirstFragmentReachTheBridge(
            HostGuardMode mode) throws Exception {
        PodmanContainer workload = PODMAN.sandbox();
        BindingSandbox s = flushedSandbox(mode, workload, OPEN);
        String own = s.linkLocal();
        tap = new ForgedFrames.Tap(scripts.listener(), s.bridge, "nd");

        List<String> fragments = s.fragmentedNa(own, "fe80::1"); // for another's address: whole, it is dropped
        String control = s.na(own, own);
        List<String> seen = tap.framesAfter(control);
        s.assertGuardedOnlyAs(mode);

        assertThat(seen).as("neighbour discovery frames on %s", s.bridge).contains(control);
        if (mode == HostGuardMode.AUTO) {
            assertThat(seen).as("the first fragment on %s", s.bridge).doesNotContain(fragments.get(0));
        } else {
            assertThat(seen).as("without the guard both fragments reach the bridge").containsAll(fragments);
        }
    }
}
