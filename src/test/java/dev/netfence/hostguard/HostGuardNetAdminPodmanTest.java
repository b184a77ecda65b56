package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.core.ErrorCode;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import dev.netfence.testkit.Sh;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A rootful container given CAP_NET_ADMIN ({@code --cap-add NET_ADMIN}, no user namespace of its
 * own) is never reported as held by the host guard: with that capability in the host's user
 * namespace its workload can make, change and delete the host namespace's interfaces through
 * rtnetlink's target namespace id (a veth of its own onto the bridge, reproduced by the
 * forty-seventh session's review), which no chain on its host side covers. Under
 * {@code --host-guard auto} the chain is still written and the outcome says {@code ["netns"]};
 * under {@code required} the container fails closed with HOST_GUARD_UNAVAILABLE, its quarantine's
 * outcome not claiming the host guard either. The same
 * container without the capability stays {@code ["netns","host"]}, unless a member of its pod (its
 * network namespace) holds the capability: that one can get past their shared veth's chain too.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class HostGuardNetAdminPodmanTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    private static final int ALLOWED = 8080;
    private static PodmanContainer peer;

    @BeforeAll
    static void startPeer() throws java.io.IOException {
        peer = PODMAN.peer(ALLOWED);
    }

    private static String policy() {
        return "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"" + peer.ipv4() + ":" + ALLOWED
                + "\"],\"dns\":false,\"outbound\":false,\"inbound\":false}";
    }

    @Test
    void underAutoItsChainIsWrittenButTheOutcomeDoesNotClaimTheHostGuard() {
        PodmanContainer admin = PODMAN.sandbox(List.of("--cap-add", "NET_ADMIN"));
        PodmanContainer plain = PODMAN.sandbox();
        try (GuardedEnforcer enforcer = GuardedEnforcer.create(HostGuardMode.AUTO)) {
            EnforcementResult result = enforcer.apply(admin, policy());

            assertThat(result.risks()).containsExactly("CAP_NET_ADMIN");
            assertThat(result.guards()).as("%s", result).containsExactly("netns");
            assertThat(Sh.ok("nft", "list", "table", "netdev", "netfence")).as("the chain, written all the same")
                    .contains(admin.id());
            assertThat(enforcer.apply(plain, policy()).guards()).as("without the capability")
                    .containsExactly("netns", "host");
        }
    }

    @Test
    void aPodMemberWithoutTheCapabilityIsNotReportedHostGuardedWhileAMemberBesideItHoldsIt() {
        PodmanContainer plain = PODMAN.sandbox();
        PodmanContainer admin = PODMAN.start("admin", List.of("--network", "container:" + plain.name(), "--cap-add",
                "NET_ADMIN"), "/bin/sleep", "3600");
        try (GuardedEnforcer enforcer = GuardedEnforcer.create(HostGuardMode.AUTO)) {
            assertThat(enforcer.apply(admin, policy()).guards()).containsExactly("netns");

            EnforcementResult result = enforcer.apply(plain, policy());

            assertThat(result.risks()).as("its own threads hold nothing, its neighbour's risk is the pod's")
                    .containsExactly("CAP_NET_ADMIN");
            assertThat(result.warnings()).anySatisfy(w -> assertThat(w).contains(admin.id()));
            assertThat(result.guards()).as("the shared veth's chain does not hold its neighbour: %s", result)
                    .containsExactly("netns");
            EnforcementResult resynced = enforcer.resyncIn(plain, policy(), result);
            assertThat(resynced.status()).isEqualTo(EnforcementResult.APPLIED);
            assertThat(resynced.guards()).as("nor at a quiet resync: %s", resynced).containsExactly("netns");
        }
        try (GuardedEnforcer enforcer = GuardedEnforcer.create(HostGuardMode.AUTO,
                dev.netfence.enforce.EnforcerConfig.custom().onFailure(dev.netfence.enforce.OnFailure.LEAVE).build())) {
            // with on-failure leave the capabilities are read before the namespace is claimed
            assertThat(enforcer.apply(admin, policy()).guards()).containsExactly("netns");
            assertThat(enforcer.apply(plain, policy()).guards()).as("read before the claim, still known")
                    .containsExactly("netns");
        }
        try (GuardedEnforcer enforcer = GuardedEnforcer.create(HostGuardMode.REQUIRED)) {
            // a fresh instance that learns of the capable member by its first apply only: the plain member first
            assertThat(enforcer.apply(plain, policy()).guards()).as("alone as far as it knows")
                    .containsExactly("netns", "host");
            assertThat(enforcer.attempt(admin, policy()).error().code())
                    .isEqualTo(ErrorCode.HOST_GUARD_UNAVAILABLE.code());
        }
    }

    @Test
    void aMemberTheHookLetJoinWithTheCapabilityKeepsTheMemberInForceFromBeingReportedHostGuardedFromItsResyncOn() {
        PodmanContainer plain = PODMAN.sandbox();
        try (GuardedEnforcer enforcer = GuardedEnforcer.create(HostGuardMode.AUTO)) {
            EnforcementResult first = enforcer.apply(plain, policy());
            assertThat(first.guards()).containsExactly("netns", "host");
            PodmanContainer admin = PODMAN.start("joiner", List.of("--network", "container:" + plain.name(),
                    "--cap-add", "NET_ADMIN"), "/bin/sleep", "3600");

            enforcer.joined(admin, first); // a resync of it: another member's policy governs, nothing written for it

            assertThat(enforcer.resyncIn(plain, policy(), first).guards()).as("at a quiet resync").containsExactly("netns");
            assertThat(enforcer.apply(plain, policy()).guards()).as("at the next apply").containsExactly("netns");
            admin.remove();
            assertThat(enforcer.apply(plain, policy()).guards()).as("once the joiner is gone")
                    .containsExactly("netns", "host");
        }
    }

    /**
     * In a user namespace of its own ({@code --uidmap}, as a rootless or remapped container runs)
     * the capability reaches none of the host's interfaces, but it still turns transmit checksum
     * offload on again in the container's namespace, after which the host completes checksums where
     * the workload chose, past the guard ({@code HostGuardBeyondPodmanTest}): offload is turned off
     * all the same and the guard is not claimed. The same remapped container without the capability
     * is claimed, so what unclaims it is the capability, not the user namespace.
     */
    @Test
    void aContainerGivenItInAUserNamespaceOfItsOwnHasOffloadTurnedOffButIsNotClaimedEither() {
        List<String> remapped = List.of("--uidmap", "0:300000:65536", "--gidmap", "0:300000:65536");
        PodmanContainer admin = PODMAN.sandbox(java.util.stream.Stream.concat(remapped.stream(),
                java.util.stream.Stream.of("--cap-add", "NET_ADMIN")).toList());
        PodmanContainer plain = PODMAN.sandbox(remapped);
        List<String> inside = List.of("nsenter", "-t", Integer.toString(admin.pid()), "-n");
        assertThat(dev.netfence.testkit.TxChecksum.of(inside, "eth0")).as("before any apply").isEqualTo("on");
        try (GuardedEnforcer enforcer = GuardedEnforcer.create(HostGuardMode.AUTO)) {
            EnforcementResult result = enforcer.apply(admin, policy());

            assertThat(result.risks()).contains("CAP_NET_ADMIN");
            assertThat(result.guards()).as("%s", result).containsExactly("netns");
            assertThat(dev.netfence.testkit.TxChecksum.of(inside, "eth0")).as("turned off all the same")
                    .isEqualTo("off");
            assertThat(enforcer.apply(plain, policy()).guards()).as("remapped, without the capability")
                    .containsExactly("netns", "host");
        }
        try (GuardedEnforcer enforcer = GuardedEnforcer.create(HostGuardMode.REQUIRED)) {
            EnforcementResult result = enforcer.attempt(admin, policy());

            assertThat(result.status()).as("%s", result).isEqualTo(EnforcementResult.FAILED);
            assertThat(result.error().code()).isEqualTo(ErrorCode.HOST_GUARD_UNAVAILABLE.code());
            assertThat(result.error().message()).contains("turn transmit checksum offload on again")
                    .doesNotContain("in the host's user namespace");
        }
    }

    @Test
    void underRequiredItFailsClosed() {
        PodmanContainer admin = PODMAN.sandbox(List.of("--cap-add", "NET_ADMIN"));
        try (GuardedEnforcer enforcer = GuardedEnforcer.create(HostGuardMode.REQUIRED)) {
            EnforcementResult result = enforcer.attempt(admin, policy());

            assertThat(result.status()).as("%s", result).isEqualTo(EnforcementResult.FAILED);
            assertThat(result.error().code()).isEqualTo(ErrorCode.HOST_GUARD_UNAVAILABLE.code());
            assertThat(result.error().message()).contains("CAP_NET_ADMIN in the host's user namespace");
            assertThat(result.quarantined()).isTrue();
            assertThat(result.guards()).as("the quarantine's chain is written, but not claimed either: %s", result)
                    .containsExactly("netns");
            assertThat(Sh.ok("nft", "list", "table", "netdev", "netfence")).contains(admin.id());
        }
    }
}
