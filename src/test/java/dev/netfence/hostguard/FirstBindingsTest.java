package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.hostguard.HostSides.Binding;
import dev.netfence.rules.PlannedRules;
import dev.netfence.rules.RulePlanner;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class FirstBindingsTest {
    private static final GuardChain CHAIN = new GuardChain("veth1", 11, "c1");
    private static final Binding FIRST = new Binding("0a:00:00:00:00:01", List.of("10.88.0.5"), List.of("fe80::1"));

    @Test
    void theFirstReadIsBoundAsItIsAndRemembered() {
        FirstBindings first = new FirstBindings();
        assertThat(first.narrow(CHAIN, FIRST)).isEqualTo(FIRST);
        assertThat(first.size()).isEqualTo(1);
    }

    @Test
    void aReadThatFailsLaterKeepsTheFirstBindingAndOneThatFailsFirstRemembersNothing() {
        FirstBindings first = new FirstBindings();
        assertThat(first.narrow(CHAIN, null)).isNull();
        assertThat(first.size()).isZero();
        first.narrow(CHAIN, FIRST);

        assertThat(first.narrow(CHAIN, null)).isEqualTo(FIRST);
    }

    @Test
    void aLaterReadKeepsTheFirstMacAndOnlyTheFirstIpv4AddressesButFollowsIpv6() {
        FirstBindings first = new FirstBindings();
        first.narrow(CHAIN, FIRST);
        // a neighbour's address and MAC claimed, an autoconfigured IPv6 address gained
        Binding later = new Binding("0a:00:00:00:00:99", List.of("10.88.0.5", "10.88.0.7"),
                List.of("fe80::1", "2001:db8::5"));

        assertThat(first.narrow(CHAIN, later))
                .isEqualTo(new Binding("0a:00:00:00:00:01", List.of("10.88.0.5"), List.of("fe80::1", "2001:db8::5")));
    }

    @Test
    void aNarrowedReadIsWarnedAboutOnceUntilItChangesWithAtMostSixteenAddressesListed() {
        FirstBindings first = new FirstBindings();
        first.narrow(CHAIN, FIRST);
        List<String> many = new java.util.ArrayList<>(List.of("10.88.0.5"));
        for (int i = 0; i < 40; i++) {
            many.add("10.88.1." + i);
        }
        Binding claimed = new Binding("0a:00:00:00:00:01", many, List.of("fe80::1"));
        try (dev.netfence.testkit.CapturedLogs logged = dev.netfence.testkit.CapturedLogs.of(FirstBindings.class)) {
            for (int write = 0; write < 5; write++) { // an apply and resyncs, the workload's addresses unchanged
                assertThat(first.narrow(CHAIN, claimed).ipv4()).containsExactly("10.88.0.5");
            }
            List<String> warned = logged.messages(ch.qos.logback.classic.Level.WARN);
            assertThat(warned).hasSize(1);
            assertThat(warned.get(0)).contains("10.88.1.14]", "and 25 more").doesNotContain("10.88.1.15");

            first.narrow(CHAIN, FIRST); // back to what it held: nothing to warn about
            first.narrow(CHAIN, claimed); // claimed again: warned again
            assertThat(logged.messages(ch.qos.logback.classic.Level.WARN)).hasSize(2);
        }
    }

    @Test
    void anAddressLostIsNotBoundAndOneRegainedIsAgain() {
        FirstBindings first = new FirstBindings();
        first.narrow(CHAIN, FIRST);
        Binding lost = new Binding("0a:00:00:00:00:01", List.of(), List.of("fe80::1"));

        assertThat(first.narrow(CHAIN, lost).ipv4()).isEmpty();
        assertThat(first.narrow(CHAIN, FIRST)).isEqualTo(FIRST);
    }

    @Test
    void nothingReadIsNothingRememberedAndAnotherChainOrAForgottenOneStartsAfresh() {
        FirstBindings first = new FirstBindings();
        assertThat(first.narrow(CHAIN, null)).isNull();
        assertThat(first.size()).isZero();

        first.narrow(CHAIN, FIRST);
        Binding other = new Binding("0a:00:00:00:00:02", List.of("10.88.0.6"), List.of());
        GuardChain recreated = new GuardChain("veth1", 12, "c1"); // the same name, another interface
        assertThat(first.narrow(recreated, other)).isEqualTo(other);

        first.forgetGone(Map.of("veth1", 12)); // veth1 is now another interface
        assertThat(first.narrow(CHAIN, other)).isEqualTo(other);
    }

    @ParameterizedTest(name = "IPv4 {1}")
    @CsvSource(delimiter = ';', value = {
        "10.88.0.5; 10.88.0.5",
        "10.88.0.5 10.88.0.7; 10.88.0.5 10.88.0.7",
        "'';''"})
    void theBindingAChainWasWrittenWithIsReadBackFromItsListedRules(String written, String read) {
        PlannedRules plan = new RulePlanner().quarantine();
        Binding binding = new Binding("0a:00:00:00:00:01", addresses(written), List.of("fe80::1"));
        java.util.ArrayList<String> rules = new java.util.ArrayList<>(new GuardRenderer().binding(binding, plan));
        rules.addAll(new GuardRenderer().rules(plan));

        assertThat(FirstBindings.fromListedRules(rules))
                .contains(new Binding("0a:00:00:00:00:01", addresses(read), List.of("fe80::1")));
    }

    @Test
    void aListedSetIsReadInWhateverOrderNftPrintsIt() {
        List<String> rules = List.of("ether saddr != 0a:00:00:00:00:01 drop comment \"netfence:0123456789ab\"",
                "arp saddr ether != 0a:00:00:00:00:01 drop", "arp saddr ip != { 0.0.0.0, 10.88.0.5 } drop",
                "ip saddr != { 10.88.0.9, 10.88.0.5 } drop comment \"netfence:0123456789ab\"",
                "ip6 saddr != { 2001:db8::a, ::, fe80::1 } drop comment \"netfence:0123456789ab\"");

        Binding read = FirstBindings.fromListedRules(rules).orElseThrow();
        assertThat(read.ipv4()).containsExactly("10.88.0.9", "10.88.0.5");
        assertThat(read.ipv6()).containsExactly("2001:db8::a", "fe80::1");
    }

    @Test
    void aChainWithoutTheBindingsShapeGivesNothingToRemember() {
        PlannedRules plan = new RulePlanner().quarantine();
        // written without a binding (its addresses could not be read), closed (no rule), or edited by hand
        assertThat(FirstBindings.fromListedRules(new GuardRenderer().rules(plan))).isEmpty();
        assertThat(FirstBindings.fromListedRules(List.of())).isEmpty();
        String ipv6 = "ip6 saddr != :: drop";
        assertThat(FirstBindings.fromListedRules(List.of("ether saddr != 0a:00:00:00:00:01 drop", "a", "b",
                "meta protocol ip accept", ipv6))).isEmpty();
        assertThat(FirstBindings.fromListedRules(List.of("ether saddr != 0a:00:00:00:00:01 drop", "a", "b",
                "ip saddr != { 10.88.0.5, 999.1.1.1 } drop", ipv6))).isEmpty();
        assertThat(FirstBindings.fromListedRules(List.of("ether saddr != 0a:00:00:00:00:01 drop", "a", "b",
                "ip saddr != 10.88.0.5 drop", "ip6 saddr != { ::, fe80::g } drop"))).isEmpty();
        assertThat(FirstBindings.fromListedRules(List.of("ether saddr != 0a:00:00:00:00:01 drop", "a", "b",
                "ip saddr != 10.88.0.5 drop", "meta protocol ip6 drop"))).isEmpty();
        assertThat(FirstBindings.fromListedRules(List.of("ether saddr != 0a:00:00:00:00:01 drop", "a", "b",
                "ip saddr != 10.88.0.5 drop", ipv6))).contains(new Binding("0a:00:00:00:00:01", List.of("10.88.0.5"),
                List.of()));
    }

    @Test
    void aRememberedBindingIsTheFirstSoALaterReadIsNarrowedToIt() {
        FirstBindings first = new FirstBindings();
        first.remember(CHAIN, new Binding("0a:00:00:00:00:01", List.of("10.88.0.5"), List.of()));
        Binding read = new Binding("0a:00:00:00:00:99", List.of("10.88.0.5", "10.88.0.7"), List.of("fe80::1"));

        assertThat(first.narrow(CHAIN, read))
                .isEqualTo(new Binding("0a:00:00:00:00:01", List.of("10.88.0.5"), List.of("fe80::1")));
        first.remember(CHAIN, read);
        assertThat(first.narrow(CHAIN, read).ipv4()).as("a chain's first binding is never replaced").containsExactly("10.88.0.5");
    }

    private static List<String> addresses(String spaced) {
        return spaced.isBlank() ? List.of() : List.of(spaced.split(" "));
    }

    @Test
    void anIpv6AddressGainedLaterIsNotBoundWhereAnotherContainersChainHeldItAtItsFirstApply() {
        FirstBindings first = new FirstBindings();
        first.narrow(CHAIN, FIRST);
        GuardChain neighbour = new GuardChain("veth2", 12, "c2");
        first.narrow(neighbour, new Binding("0a:00:00:00:00:02", List.of("10.88.0.6"), List.of("fe80::2", "2001:db8::6")));

        // the neighbour's link-local and global addresses claimed, and an autoconfigured one of its own gained
        Binding claimed = new Binding("0a:00:00:00:00:01", List.of("10.88.0.5"),
                List.of("fe80::1", "fe80::2", "2001:db8::6", "2001:db8::5"));
        Binding bound = first.narrow(CHAIN, claimed);
        assertThat(bound.ipv6()).containsExactly("fe80::1", "2001:db8::5");
        assertThat(first.later(CHAIN, bound)).as("written apart from the first").containsExactly("2001:db8::5");
        // the neighbour's interface gone, its address is nobody's
        first.forgetGone(Map.of("veth1", 11));
        assertThat(first.narrow(CHAIN, claimed).ipv6()).containsExactly("fe80::1", "fe80::2", "2001:db8::6", "2001:db8::5");
    }

    @Test
    void aChainsOwnFirstIpv6AddressesStayBoundWhateverAnotherChainHeldFirst() {
        // two bridges may hand out the same address: the second container's first read is taken as it is,
        // and neither loses what it held first
        FirstBindings first = new FirstBindings();
        first.narrow(CHAIN, FIRST);
        GuardChain other = new GuardChain("veth9", 19, "c9");
        Binding same = new Binding("0a:00:00:00:00:09", List.of(), List.of("fe80::1"));

        assertThat(first.narrow(other, same)).isEqualTo(same);
        assertThat(first.narrow(other, same)).isEqualTo(same);
        assertThat(first.narrow(CHAIN, FIRST)).isEqualTo(FIRST);
    }

    @Test
    void theMembersOfAPodShareTheirInterfacesFirstBindingWhateverTheirOrderAndRestarts() {
        // one veth, written by each member of the pod under its own container id in turn
        FirstBindings first = new FirstBindings();
        first.narrow(CHAIN, FIRST);
        GuardChain sidecar = new GuardChain("veth1", 11, "c1-sidecar");
        GuardChain restarted = new GuardChain("veth1", 11, "c1-again");
        // a member holding CAP_NET_ADMIN gave the shared eth0 a neighbour's MAC and addresses before the others came
        Binding claimed = new Binding("0a:00:00:00:00:02", List.of("10.88.0.5", "10.88.0.6"), List.of("fe80::1", "fe80::2"));
        GuardChain neighbour = new GuardChain("veth2", 12, "c2");
        first.narrow(neighbour, new Binding("0a:00:00:00:00:02", List.of("10.88.0.6"), List.of("fe80::2")));

        for (GuardChain member : List.of(sidecar, restarted)) {
            assertThat(first.narrow(member, claimed)).isEqualTo(FIRST);
        }
        // and a pod's own address gained later is its own, whichever member reads it
        Binding slaac = new Binding("0a:00:00:00:00:01", List.of("10.88.0.5"), List.of("fe80::1", "2001:db8::5"));
        assertThat(first.narrow(sidecar, slaac).ipv6()).containsExactly("fe80::1", "2001:db8::5");
        assertThat(first.narrow(CHAIN, slaac).ipv6()).containsExactly("fe80::1", "2001:db8::5");
    }

    @Test
    void anIpv6AddressWrittenAsGainedLaterIsNotReadBackAsAFirstOne() {
        Binding bound = new Binding("0a:00:00:00:00:01", List.of("10.88.0.5"), List.of("fe80::1", "2001:db8::b"));
        List<String> rules = new GuardRenderer().binding(bound, List.of("2001:db8::b"), new RulePlanner().quarantine());

        assertThat(rules.get(4)).startsWith("ip6 saddr != { ::, fe80::1 } ip6 saddr != 2001:db8::b drop");
        assertThat(FirstBindings.fromListedRules(rules)).contains(
                new Binding("0a:00:00:00:00:01", List.of("10.88.0.5"), List.of("fe80::1")));
    }

    @Test
    void anAddressANeighbourLostToDuplicateAddressDetectionIsItsAsIfItHeldIt() {
        FirstBindings first = new FirstBindings();
        first.narrow(CHAIN, FIRST);
        GuardChain neighbour = new GuardChain("veth2", 12, "c2");
        first.narrow(neighbour, new Binding("0a:00:00:00:00:02", List.of(), List.of("fe80::2"), List.of("2001:db8::6")));

        Binding claimed = new Binding("0a:00:00:00:00:01", List.of("10.88.0.5"), List.of("fe80::1", "2001:db8::6"));
        assertThat(first.narrow(CHAIN, claimed).ipv6()).containsExactly("fe80::1");
    }

    @Test
    void theAddressesGainedLaterAreReadBackFromTheSecondLookupOfTheIpv6Rule() {
        String mac = "ether saddr != 0a:00:00:00:00:01 drop";
        assertThat(FirstBindings.laterFromListedRules(List.of(mac, "a", "b", "ip saddr != 10.88.0.5 drop",
                "ip6 saddr != { ::, fe80::1 } ip6 saddr != { 2001:db8::6, 2001:db8:0:0::7 } drop comment \"netfence:0123456789ab\"")))
                .containsExactly("2001:db8::6", "2001:db8::7");
        assertThat(FirstBindings.laterFromListedRules(List.of(mac, "a", "b", "ip saddr != 10.88.0.5 drop",
                "ip6 saddr != { ::, fe80::1 } ip6 saddr != 2001:db8::6 drop"))).containsExactly("2001:db8::6");
        assertThat(FirstBindings.laterFromListedRules(List.of(mac, "a", "b", "ip saddr != 10.88.0.5 drop",
                "ip6 saddr != { ::, fe80::1 } drop"))).isEmpty();
        assertThat(FirstBindings.laterFromListedRules(List.of())).isEmpty();
    }
}
