package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.policy.Family;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The argv the firewall runs and how it sorts iptables-restore failures. */
class NamespaceFirewallTest {
    private final PinnedNamespace ns = new PinnedNamespace(4242, Path.of("/proc/1000/fd/9"), new NamespaceId(4, 1L), () -> { });
    private final List<List<String>> ran = new ArrayList<>();

    private NamespaceFirewall answering(int exit, String stderr) {
        return new NamespaceFirewall((argv, stdin, timeout) -> {
            ran.add(argv);
            return new CommandResult(argv, exit, "", stderr);
        }, 5);
    }

    @Test
    void restoreRunsNsenterOnThePinnedDescriptorWithNoflushAndWait() {
        answering(0, "").restore(ns, IptablesBackend.LEGACY, Family.IPV6, "*filter\nCOMMIT\n", Duration.ofSeconds(5));

        assertThat(ran).containsExactly(List.of("nsenter", "--net=/proc/1000/fd/9", "--",
                "ip6tables-legacy-restore", "--noflush", "--wait=5"));
    }

    @Test
    void exitFourOrALockMessageIsRetryableLockContention() {
        for (NamespaceFirewall fw : List.of(answering(4, ""), answering(1, "Another app is currently holding the xtables lock. "),
                answering(1, "iptables: holding the xtables lock"))) {
            assertThatThrownBy(() -> fw.restore(ns, IptablesBackend.LEGACY, Family.IPV4, "x", Duration.ofSeconds(1)))
                    .isInstanceOfSatisfying(EnforcementException.class, e -> {
                        assertThat(e.code()).isEqualTo(ErrorCode.LOCK_CONTENDED);
                        assertThat(e.retryable()).isTrue();
                    });
        }
    }

    @Test
    void anyOtherRefusalIsRulesRejected() {
        assertThatThrownBy(() -> answering(2, "Error occurred at line: 3").restore(ns, IptablesBackend.NFT, Family.IPV4,
                "x", Duration.ofSeconds(1)))
                .isInstanceOfSatisfying(EnforcementException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.RULES_REJECTED);
                    assertThat(e.getMessage()).contains("exited 2").contains("line: 3");
                });
    }

    @Test
    void aBinaryNsenterCannotRunIsFirewallUnavailable() {
        assertThatThrownBy(() -> answering(127, "nsenter: failed to execute iptables-nft-restore: No such file")
                .restore(ns, IptablesBackend.NFT, Family.IPV4, "x", Duration.ofSeconds(1)))
                .isInstanceOfSatisfying(EnforcementException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.FIREWALL_UNAVAILABLE));
    }
}
