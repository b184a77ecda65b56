package dev.netfence.nft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.Sh;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The iptables backend's leftovers in a namespace that switched backend ({@code NETFENCE-OUT} and
 * the jump to it in a {@code filter} table), beside rules of the workload's in that table: a
 * leftover table under {@link NftCensus#LIMIT} rules is cleaned at the apply, listed as before,
 * chain by chain among 2,000 chains of the workload's, and without a listing where its chain
 * matches on an interface index; leftovers never pass as a remembered read-back; past the limit
 * nothing is listed and a resync still repairs. The workload's rules stay.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class LeftoverTableKernelTest extends BoundedReadBackFixture {
    /**
     * As {@link TableBytesKernelTest#aRuleOfTheWorkloadsThatMatchesOnAnInterfaceIndexIsADifferenceNotListed},
     * in a {@code filter} table beside the iptables backend's chain name, which netfence
     * cleans up: what it removes is read from the kernel's messages, nothing is listed, the
     * workload's rule stays.
     */
    @Test
    void aLeftoverTableWhoseOutputChainMatchesOnAnInterfaceIndexIsCleanedWithoutAListing() throws Exception {
        apply(); // the plan learnt (listed in a fresh namespace)
        inside("add table ip filter\nadd chain ip filter NETFENCE-OUT\n"
                + "add chain ip filter OUTPUT { type filter hook output priority 0; }\n"
                + "add rule ip filter OUTPUT meta oif 1 accept\n"
                + "add rule ip filter OUTPUT jump NETFENCE-OUT\n", "nft", "-f");
        long listed = nft.listedChars();

        apply();

        assertThat(ruleset()).contains("table inet netfence").doesNotContain("NETFENCE-OUT").contains("oif");
        assertThat(nft.listedChars()).as("libnftables listed nothing in the workload's namespace").isEqualTo(listed);
    }

    @Test
    void aLeftoverTableOfTheIptablesBackendOverTheLimitIsNotListedAndTheResyncStillRepairs() throws Exception {
        Sh.ok("ip", "netns", "exec", name, "iptables-nft", "-N", "NETFENCE-OUT");
        StringBuilder restore = new StringBuilder("*filter\n");
        for (int i = 0; i <= NftCensus.LIMIT; i++) {
            restore.append("-A OUTPUT -d 10.").append(i / 250).append('.').append(i % 250).append(".1/32 -j ACCEPT\n");
        }
        inside(restore.append("COMMIT\n").toString(), "iptables-nft-restore", "-n");
        long before = nft.readBackSize();
        assertThatThrownBy(this::apply).isInstanceOfSatisfying(EnforcementException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.VERIFY_FAILED);
            assertThat(e.getMessage()).contains("table ip filter holds the iptables backend's chains").endsWith("(not listed)");
        });
        assertThat(nft.readBackSize()).as("nothing listed").isEqualTo(before);
        assertThat(ruleset()).as("netfence's table is written all the same").contains("table inet netfence");
        Sh.ok("ip", "netns", "exec", name, "nft", "flush", "chain", "inet", "netfence", "output");
        assertThat(drift()).as("a difference, so the resync writes again (it threw before, and nothing was repaired)")
                .hasValueSatisfying(d -> assertThat(d).contains("table ip filter"));
    }

    @Test
    void leftoversOfTheIptablesBackendAreNeverPassedByTheRememberedListingAndAreRemoved() throws Exception {
        apply();
        apply(); // a pair remembered for the plan, whatever ran before
        Sh.ok("ip", "netns", "exec", name, "iptables-nft", "-N", "NETFENCE-OUT");
        Sh.ok("ip", "netns", "exec", name, "iptables-nft", "-I", "OUTPUT", "1", "-j", "NETFENCE-OUT");
        long known = nft.knownReadBacks();
        apply();
        assertThat(nft.knownReadBacks() - known).as("only the read-back after the removal").isEqualTo(1);
        assertThat(Sh.ok("ip", "netns", "exec", name, "iptables-nft-save", "-t", "filter")).doesNotContain("NETFENCE");
    }

    @Test
    void aLeftoverTableUnderTheLimitIsListedAndCleanedAsBefore() throws Exception {
        Sh.ok("ip", "netns", "exec", name, "iptables-nft", "-N", "NETFENCE-OUT");
        Sh.ok("ip", "netns", "exec", name, "iptables-nft", "-I", "OUTPUT", "1", "-j", "NETFENCE-OUT");
        inside(rules(500, "ip filter OUTPUT"), "nft", "-f");
        apply();
        String v4 = Sh.ok("ip", "netns", "exec", name, "iptables-nft-save", "-t", "filter");
        assertThat(v4).doesNotContain("NETFENCE").contains("10.1.249.1");
        assertThat(drift()).isEmpty();
    }

    @Test
    void aLeftoverTableInANamespaceOfManyChainsIsCleanedChainByChain() throws Exception {
        manyChains();
        Sh.ok("ip", "netns", "exec", name, "iptables-nft", "-N", "NETFENCE-OUT");
        Sh.ok("ip", "netns", "exec", name, "iptables-nft", "-I", "OUTPUT", "1", "-j", "NETFENCE-OUT");
        Sh.ok("ip", "netns", "exec", name, "iptables-nft", "-A", "OUTPUT", "-p", "tcp", "--dport", "9", "-j", "ACCEPT");
        apply();
        String v4 = Sh.ok("ip", "netns", "exec", name, "iptables-nft-save", "-t", "filter");
        assertThat(v4).doesNotContain("NETFENCE").contains("--dport 9");
        assertThat(drift()).isEmpty();
    }
}
