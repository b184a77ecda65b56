package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.core.ErrorCode;
import dev.netfence.enforce.EnforcerConfig;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import dev.netfence.testkit.TxChecksum;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A quarantine claims the host guard on the terms an apply does (review 54c MEDIUM-3): a real
 * podman container holding CAP_NET_RAW, refused for it by {@code --refuse-capabilities}, is
 * quarantined (UNSAFE_CAPABILITIES), and its quarantine's outcome says {@code ["netns","host"]}
 * only once transmit checksum offload is off in its namespace, so that the frames its quarantine
 * chain lets pass (ARP) leave as the chain judged them (a workload holding CAP_NET_RAW can
 * otherwise have the host complete a checksum where it chose, {@code HostGuardBeyondPodmanTest}).
 * Offload is on in its namespace before the attempt, so the check can fail.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class QuarantineChecksumPodmanTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    private static final String POLICY = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"dns\":false,\"outbound\":true,"
            + "\"inbound\":false}";

    @Test
    void aContainerQuarantinedForHoldingNetRawHasItsOffloadTurnedOffBeforeItsQuarantineClaimsTheHostGuard() {
        PodmanContainer raw = PODMAN.sandbox(List.of("--cap-add", "NET_RAW"));
        List<String> inside = List.of("nsenter", "-t", Integer.toString(raw.pid()), "-n");
        assertThat(TxChecksum.of(inside, "eth0")).as("before the attempt").isEqualTo("on");
        try (GuardedEnforcer enforcer = GuardedEnforcer.create(HostGuardMode.AUTO,
                EnforcerConfig.custom().refuseCapabilities(Set.of("CAP_NET_RAW")).build())) {
            EnforcementResult result = enforcer.attempt(raw, POLICY);

            assertThat(result.status()).as("%s", result).isEqualTo(EnforcementResult.FAILED);
            assertThat(result.error().code()).isEqualTo(ErrorCode.UNSAFE_CAPABILITIES.code());
            assertThat(result.quarantined()).isTrue();
            assertThat(result.guards()).as("the quarantine's chain, claimed: %s", result)
                    .containsExactly("netns", "host");
            assertThat(TxChecksum.of(inside, "eth0")).as("offload, turned off before that claim").isEqualTo("off");
        }
    }
}
