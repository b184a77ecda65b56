package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.netfence.core.EnforcementException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** auto follows the host's iptables; fixed choices need no detection. */
class BackendDetectorTest {
    private final AtomicInteger runs = new AtomicInteger();

    private CommandRunner version(String text) {
        return (argv, stdin, timeout) -> {
            runs.incrementAndGet();
            return new CommandResult(argv, 0, text, "");
        };
    }

    @Test
    void autoPicksNftWhenTheHostsIptablesIsNfTablesAndAsksOnlyOnce() {
        BackendDetector detector = new BackendDetector(BackendChoice.AUTO, version("iptables v1.8.9 (nf_tables)\n"));

        assertThat(detector.backend()).isEqualTo(IptablesBackend.NFT);
        assertThat(detector.backend().wire()).isEqualTo("iptables-nft");
        assertThat(runs.get()).isEqualTo(1);
    }

    @Test
    void autoPicksLegacyWhenTheHostsIptablesIsLegacy() {
        assertThat(new BackendDetector(BackendChoice.AUTO, version("iptables v1.8.7 (legacy)\n")).backend())
                .isEqualTo(IptablesBackend.LEGACY);
    }

    @Test
    void anUnrecognisedVersionIsFirewallUnavailable() {
        assertThatThrownBy(() -> new BackendDetector(BackendChoice.AUTO, version("iptables v1.4.21\n")).backend())
                .isInstanceOf(EnforcementException.class).hasMessageContaining("v1.4.21");
    }

    @Test
    void aFixedChoiceRunsNothing() {
        assertThat(new BackendDetector(BackendChoice.parseIptablesAlias("legacy"), version("")).backend().restoreBinary(
                dev.netfence.policy.Family.IPV4)).isEqualTo("iptables-legacy-restore");
        assertThat(runs.get()).isZero();
    }

    @Test
    void anUnknownFlagNamesTheBadValue() {
        assertThatThrownBy(() -> BackendChoice.parseIptablesAlias("iptables"))
                .hasMessage("iptables backend must be auto, nft or legacy, was: iptables");
        assertThatThrownBy(() -> BackendChoice.parse("ebpf"))
                .hasMessage("backend must be auto, nft or iptables (or iptables-nft, iptables-legacy), was: ebpf");
    }

    @Test
    void theOldIptablesBackendValuesAllMeanIptables() {
        assertThat(BackendChoice.parseIptablesAlias("auto")).isEqualTo(BackendChoice.IPTABLES);
        assertThat(BackendChoice.parseIptablesAlias("nft")).isEqualTo(BackendChoice.IPTABLES_NFT);
        assertThat(BackendChoice.parseIptablesAlias("LEGACY")).isEqualTo(BackendChoice.IPTABLES_LEGACY);
        assertThat(BackendChoice.parse("auto")).isEqualTo(BackendChoice.AUTO);
        assertThat(BackendChoice.parse("nft")).isEqualTo(BackendChoice.NFT);
        assertThat(BackendChoice.parse("iptables")).isEqualTo(BackendChoice.IPTABLES);
    }
}
