package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import dev.netfence.testkit.Sh;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A neighbour's IPv6 address claimed by a workload holding {@code CAP_NET_ADMIN}, against two real
 * podman containers on podman's bridge: the workload gives its own eth0 its neighbour's link-local
 * address (every container on the bridge has one, and a neighbour advertisement for it moves the
 * neighbour's entry in every cache on the link to the workload's MAC), a resync follows, its
 * in-namespace rules are flushed, and it advertises that address. With {@code --host-guard auto} the
 * advertisement never reaches the bridge, because an IPv6 address a container gains after its first
 * apply is not bound where another container's chain held it at its first; with {@code off} it does,
 * which shows the proof can fail. An advertisement for its own link-local address, sent last,
 * arrives both ways. And the other order: the workload claims the address of a neighbour that has
 * started but whose guard is not written yet, so its own guard binds it (no guarded neighbour held
 * it); the neighbour's first guard then names the workload to apply again at once (the reconciler
 * does so in {@code netfence run}), and that apply unbinds it.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class HostGuardIpv6ClaimPodmanTest extends ForgedFrameProof {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();
    private static final String POLICY = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"dns\":false,\"outbound\":false,"
            + "\"inbound\":false}";


    @ParameterizedTest(name = "host guard {0}")
    @EnumSource(value = HostGuardMode.class, names = {"AUTO", "OFF"})
    void aNeighboursLinkLocalAddressItGivesItselfIsNeverBoundSoItsAdvertisementNeverReachesTheBridge(
            HostGuardMode mode) throws Exception {
        PodmanContainer neighbour = PODMAN.sandbox();
        PodmanContainer workload = PODMAN.sandbox();
        applyAs(mode, neighbour, POLICY);
        applyAs(mode, workload, POLICY);
        String theirs = new BindingSandbox(neighbour, null, 0).linkLocal();
        BindingSandbox s = new BindingSandbox(workload, scripts.sender(), 0);
        String own = s.linkLocal();
        Sh.ok("nsenter", "-t", Integer.toString(workload.pid()), "-n", "ip", "-6", "addr", "add", theirs + "/64",
                "dev", "eth0", "nodad");
        assertThat(enforcer.reconcile(workload, POLICY).guards()).isEqualTo(guards(mode));
        HostGuardPodmanTest.flushInNamespaceRules(workload);
        tap = new ForgedFrames.Tap(scripts.listener(), s.bridge, "nd");

        String claim = s.na(theirs, theirs);
        String control = s.na(own, own);
        List<String> seen = tap.framesAfter(control);
        s.assertGuardedOnlyAs(mode);

        assertThat(seen).as("neighbour discovery frames on %s", s.bridge).contains(control);
        if (mode == HostGuardMode.AUTO) {
            assertThat(seen).as("advertisements of %s's address %s on %s", neighbour, theirs, s.bridge)
                    .doesNotContain(claim).noneMatch(f -> f.startsWith("NA ") && f.endsWith(" " + theirs));
        } else {
            assertThat(seen).as("without the guard the claim reaches the bridge").contains(claim);
        }
    }

    @ParameterizedTest(name = "host guard {0}")
    @EnumSource(value = HostGuardMode.class, names = {"AUTO", "OFF"})
    void anAddressClaimedBeforeItsOwnersFirstGuardIsUnboundByTheApplyThatGuardAsksFor(HostGuardMode mode)
            throws Exception {
        PodmanContainer workload = PODMAN.sandbox();
        PodmanContainer neighbour = PODMAN.sandbox(); // started, its guard not written yet
        applyAs(mode, workload, POLICY);
        List<String> told = new CopyOnWriteArrayList<>();
        enforcer.guards().onClaimedBefore(told::add);
        BindingSandbox theirs = new BindingSandbox(neighbour, null, 0);
        await("the neighbour's link-local address past duplicate address detection").atMost(Duration.ofSeconds(10))
                .until(() -> !theirs.linkLocalFlags().contains("tentative"));
        String claimed = theirs.linkLocal();
        BindingSandbox s = new BindingSandbox(workload, scripts.sender(), 0);
        String own = s.linkLocal();
        Sh.ok("nsenter", "-t", Integer.toString(workload.pid()), "-n", "ip", "-6", "addr", "add", claimed + "/64",
                "dev", "eth0", "nodad");
        assertThat(enforcer.reconcile(workload, POLICY).guards()).isEqualTo(guards(mode));
        assertThat(told).as("nothing to tell while no guarded container held %s first", claimed).isEmpty();

        applyAs(mode, neighbour, POLICY);

        if (mode == HostGuardMode.AUTO) {
            assertThat(told).as("who must be guarded again after %s's first guard", neighbour)
                    .containsExactly(workload.id());
        } else {
            assertThat(told).isEmpty();
        }
        if (!told.isEmpty()) { // what the reconciler does when told
            assertThat(enforcer.reconcile(workload, POLICY).guards()).isEqualTo(guards(mode));
        }
        HostGuardPodmanTest.flushInNamespaceRules(workload);
        tap = new ForgedFrames.Tap(scripts.listener(), s.bridge, "nd");
        String claim = s.na(claimed, claimed);
        String control = s.na(own, own);
        List<String> seen = tap.framesAfter(control);
        s.assertGuardedOnlyAs(mode);

        assertThat(seen).as("neighbour discovery frames on %s", s.bridge).contains(control);
        if (mode == HostGuardMode.AUTO) {
            assertThat(seen).as("advertisements of %s's address %s on %s", neighbour, claimed, s.bridge)
                    .doesNotContain(claim).noneMatch(f -> f.startsWith("NA ") && f.endsWith(" " + claimed));
        } else {
            assertThat(seen).as("without the guard the claim reaches the bridge").contains(claim);
        }
    }
}
