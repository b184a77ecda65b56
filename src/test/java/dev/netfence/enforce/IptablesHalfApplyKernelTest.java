package dev.netfence.enforce;

import static dev.netfence.enforce.KernelEnforcementTest.allowing;
import static dev.netfence.enforce.KernelEnforcementTest.policy;
import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.netns.CommandResult;
import dev.netfence.netns.CommandRunner;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.policy.Family;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.SandboxNetExtension;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What only the iptables backends can meet, against the real kernel: an {@code iptables-restore}
 * the kernel refuses half way (one family's, or the second family's after the first was written).
 * The nft backend writes both families in one transaction, so it has no half-applied state (its
 * refusals: NftApplyTest, ProcessNftKernelTest). Split out of {@link KernelEnforcementTest}, whose
 * nft parameter skipped these two.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class IptablesHalfApplyKernelTest {
    private static final int ALLOWED = 8001;

    @RegisterExtension
    static final SandboxNetExtension SANDBOX = SandboxNetExtension.withPeerListening(ALLOWED);

    @Test
    void aRulesetTheKernelRejectsHalfWayLeavesThePreviousRulesInForce() throws Exception {
        assertThat(enforce(enforcer(EnforcerConfig.defaults(), new ProcessCommandRunner()), policy(allowing(SANDBOX.net().peerV4(), "[" + SANDBOX.net().peerV6() + "]"))).status())
                .isEqualTo("applied");
        String v4 = SANDBOX.net().save(Family.IPV4);
        String v6 = SANDBOX.net().save(Family.IPV6);
        DefaultEnforcer corrupting = enforcer(EnforcerConfig.custom().onFailure(OnFailure.LEAVE).build(),
                new CorruptingRunner("iptables-nft-restore"));

        EnforcementResult result = enforce(corrupting, policy(allowing(SANDBOX.net().otherHostV4())));

        assertThat(result.status()).isEqualTo("failed");
        assertThat(result.error().code()).isEqualTo("RULES_REJECTED");
        assertThat(result.attempts()).isEqualTo(1);
        assertThat(result.quarantined()).isFalse();
        assertThat(SANDBOX.net().save(Family.IPV4)).isEqualTo(v4);
        assertThat(SANDBOX.net().save(Family.IPV6)).isEqualTo(v6);
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), ALLOWED)).isEqualTo("OK");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().otherHostV4(), ALLOWED)).isEqualTo("REFUSED");
    }

    @Test
    void anIpv6RejectionAfterIpv4WasAppliedQuarantinesEvenInLeaveMode() throws Exception {
        DefaultEnforcer corrupting = enforcer(EnforcerConfig.custom().onFailure(OnFailure.LEAVE).build(),
                new CorruptingRunner("ip6tables-nft-restore"));

        EnforcementResult result = enforce(corrupting, policy(allowing(SANDBOX.net().peerV4(), "[" + SANDBOX.net().peerV6() + "]")));

        assertThat(result.status()).isEqualTo("failed");
        assertThat(result.error().code()).isEqualTo("RULES_REJECTED");
        assertThat(result.quarantined()).isTrue();
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), ALLOWED)).isEqualTo("REFUSED");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV6(), ALLOWED)).isEqualTo("REFUSED");
    }

    private static DefaultEnforcer enforcer(EnforcerConfig base, CommandRunner runner) {
        return KernelEnforcementTest.enforcer("iptables-nft", base, runner);
    }

    private static EnforcementResult enforce(DefaultEnforcer enforcer, NetworkPolicy policy) {
        return enforcer.enforce(new EnforcementRequest(null, null, SANDBOX.net().containerPid(), policy,
                Clock.systemUTC().instant().plusSeconds(20)));
    }

    /**
     * Runs commands for real but slips an invalid rule into the middle of the first restore
     * input for one binary, so the real kernel must refuse the whole transaction.
     */
    private static final class CorruptingRunner implements CommandRunner {
        private final ProcessCommandRunner real = new ProcessCommandRunner();
        private final String binary;
        private final AtomicBoolean done = new AtomicBoolean();

        CorruptingRunner(String binary) {
            this.binary = binary;
        }

        @Override
        public CommandResult run(List<String> argv, byte[] stdin, Duration timeout) throws java.io.IOException,
                dev.netfence.netns.CommandTimeoutException, InterruptedException {
            if (argv.contains(binary) && done.compareAndSet(false, true)) {
                String text = new String(stdin, StandardCharsets.UTF_8);
                int third = text.indexOf("-A NETFENCE-OUT", text.indexOf("-A NETFENCE-OUT", text.indexOf("-A NETFENCE-OUT") + 1) + 1);
                text = text.substring(0, third) + "-A NETFENCE-OUT -j NETFENCE-NO-SUCH-CHAIN\n" + text.substring(third);
                return real.run(argv, text.getBytes(StandardCharsets.UTF_8), timeout);
            }
            return real.run(argv, stdin, timeout);
        }
    }
}
