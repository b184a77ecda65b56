package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.policy.PolicyParser;
import dev.netfence.rules.PlannedRules;
import dev.netfence.rules.RulePlanner;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** HostGuards' bookkeeping against a fake kernel: what it writes, when it recreates, how it recovers. */
class HostGuardsTest {
    private static final Path NS = Path.of("/proc/1234/fd/7");
    private final PlannedRules plan = new RulePlanner().quarantine();
    private final FakeHostSides sides = new FakeHostSides();
    private final FakeHostTable table = new FakeHostTable();
    private static final HostSides.Binding BOUND = new HostSides.Binding("0a:00:00:00:00:01", List.of("10.88.0.5"),
            List.of("fe80::1"));

    @Test
    void aGuardWrittenWithoutItsSourceBindingIsNotClaimedAndRequiredRefusesIt() {
        sides.peers.add(new HostSides.HostInterface("veth1", 11, 2)); // the container's addresses could not be read
        HostGuards.Result result = new HostGuards(HostGuardMode.AUTO, sides, table).apply("c1", NS, plan);

        assertThat(result.guards()).containsExactly("netns");
        assertThat(result.chains()).extracting(GuardChain::device).as("written all the same").containsExactly("veth1");
        assertThat(result.reason()).isEqualTo("the source addresses of the container's interfaces behind host interfaces"
                + " [veth1] could not be read: their host guards bind no source address yet");
        assertThatThrownBy(() -> new HostGuards(HostGuardMode.REQUIRED, sides, table).apply("c1", NS, plan))
                .isInstanceOfSatisfying(EnforcementException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.HOST_GUARD_UNAVAILABLE));
    }

    @Test
    void aReadThatFailsAfterTheFirstBindingKeepsTheFirstBindingInTheChain() {
        HostGuards guards = new HostGuards(HostGuardMode.AUTO, sides, table);
        sides.peers.add(new HostSides.HostInterface("veth1", 11, 2, BOUND));
        assertThat(guards.apply("c1", NS, plan).guards()).containsExactly("netns", "host");
        sides.peers.set(0, new HostSides.HostInterface("veth1", 11, 2)); // the next read fails
        PlannedRules other = new RulePlanner().plan(new PolicyParser().parse(
                "{\"schemaVersion\":1,\"mode\":\"bridge\",\"dns\":false,\"outbound\":true,\"inbound\":false}"
                        .getBytes(StandardCharsets.UTF_8)), Map.of(), List.of());

        HostGuards.Result again = guards.apply("c1", NS, other);

        assertThat(again.guards()).containsExactly("netns", "host");
        assertThat(table.scripts).hasSize(2);
        assertThat(table.scripts.get(1)).as("the policy changed, the binding stayed")
                .contains("ether saddr != 0a:00:00:00:00:01 drop", "ip saddr != 10.88.0.5 drop");
    }

    @Test
    void offTouchesNothingAndReportsNetnsOnly() {
        sides.peers.add(new HostSides.HostInterface("veth1", 11, 2));
        HostGuards.Result result = new HostGuards(HostGuardMode.OFF, sides, table).apply("c1", NS, plan);
        assertThat(result.guards()).containsExactly("netns");
        assertThat(table.scripts).isEmpty();
    }

    @Test
    void noHostSideIsNetnsOnlyUnderAutoAndHostGuardUnavailableUnderRequired() {
        assertThat(new HostGuards(HostGuardMode.AUTO, sides, table).apply("c1", NS, plan).guards()).containsExactly("netns");
        assertThatThrownBy(() -> new HostGuards(HostGuardMode.REQUIRED, sides, table).apply("c1", NS, plan))
                .isInstanceOfSatisfying(EnforcementException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.HOST_GUARD_UNAVAILABLE);
                    assertThat(e.retryable()).isFalse();
                })
                .hasMessage("--host-guard required, but the container has no veth whose peer is in netfence's namespace");
        assertThat(table.scripts).isEmpty();
    }

    @Test
    void eachChainOfAContainerWithTwoInterfacesIsBoundToItsOwnPeersAddressesInOneTransaction() {
        HostSides.Binding first = new HostSides.Binding("0a:00:00:00:00:01", List.of("10.88.0.5"), List.of());
        HostSides.Binding second = new HostSides.Binding("0a:00:00:00:00:02", List.of("10.89.0.5"), List.of());
        sides.peers.add(new HostSides.HostInterface("veth1", 11, 2, first));
        sides.peers.add(new HostSides.HostInterface("veth2", 12, 3, second));

        new HostGuards(HostGuardMode.AUTO, sides, table).apply("c1", NS, plan);

        GuardRenderer renderer = new GuardRenderer();
        List<String> body = renderer.rules(plan);
        assertThat(table.scripts.get(table.scripts.size() - 1)).isEqualTo(renderer.replace(
                List.of(new GuardChain("veth1", 11, "c1"), new GuardChain("veth2", 12, "c1")), List.of(),
                chain -> {
                    List<String> lines = new java.util.ArrayList<>(renderer.binding(
                            chain.device().equals("veth1") ? first : second, plan));
                    lines.addAll(body);
                    return lines;
                }));
        assertThat(table.scripts.get(table.scripts.size() - 1))
                .contains("\tip saddr != 10.88.0.5 drop", "\tip saddr != 10.89.0.5 drop");
    }

    @Test
    void anotherWayOutStillGetsTheVethGuardedButTheOutcomeSaysNetnsOnlyAndRequiredRefuses() {
        sides.peers.add(new HostSides.HostInterface("veth1", 11, 2, BOUND));
        sides.unguarded.add("mv0 (macvlan)");
        HostGuards.Result result = new HostGuards(HostGuardMode.AUTO, sides, table).apply("c1", NS, plan);
        assertThat(result.guards()).containsExactly("netns");
        assertThat(result.chains()).extracting(GuardChain::device).containsExactly("veth1");
        assertThat(result.reason())
                .isEqualTo("the container's interfaces [mv0 (macvlan)] reach outside its namespace without passing a host guard");
        assertThatThrownBy(() -> new HostGuards(HostGuardMode.REQUIRED, sides, table).apply("c1", NS, plan))
                .isInstanceOfSatisfying(EnforcementException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.HOST_GUARD_UNAVAILABLE));
    }

    @Test
    void anInterfaceNameThatCannotBeWrittenSafelyIsNotGuarded() {
        sides.peers.add(new HostSides.HostInterface("v\"eth", 11, 2));
        HostGuards.Result result = new HostGuards(HostGuardMode.AUTO, sides, table).apply("c1", NS, plan);
        assertThat(result.guards()).containsExactly("netns");
        assertThat(result.reason()).isEqualTo("host interface names [v\"eth] cannot be guarded");
        assertThat(table.scripts).isEmpty();
    }

    @Test
    void anInterfaceNameThatCannotBeWrittenLeavesTheOthersGuardedButTheHostGuardUnclaimed() {
        // before, one such name (a veth a workload made in the host namespace) left every chain of the container
        // unwritten, its quarantine's too, and eth0's chain holding an old policy
        sides.peers.add(new HostSides.HostInterface("veth1", 11, 2));
        sides.peers.add(new HostSides.HostInterface("nf+x", 12, 3));
        HostGuards.Result result = new HostGuards(HostGuardMode.AUTO, sides, table).apply("c1", NS, plan);

        assertThat(result.guards()).containsExactly("netns");
        assertThat(result.chains()).extracting(GuardChain::device).containsExactly("veth1");
        assertThat(result.reason()).isEqualTo("host interface names [nf+x] cannot be guarded");
        assertThat(table.scripts).hasSize(1);
        assertThat(table.scripts.get(0)).contains("veth1").doesNotContain("nf+x");
        assertThatThrownBy(() -> new HostGuards(HostGuardMode.REQUIRED, sides, table).apply("c1", NS, plan))
                .isInstanceOfSatisfying(EnforcementException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.HOST_GUARD_UNAVAILABLE));
    }

    @Test
    void reApplyingReplacesInPlaceAndANameReusedWithAnotherIfindexIsRecreated() {
        HostGuards guards = new HostGuards(HostGuardMode.AUTO, sides, table);
        sides.peers.add(new HostSides.HostInterface("veth1", 11, 2));
        guards.apply("c1", NS, plan);
        guards.apply("c1", NS, plan);
        assertThat(table.scripts.get(1)).doesNotContain("delete chain");
        sides.peers.set(0, new HostSides.HostInterface("veth1", 12, 2));
        guards.apply("c2", NS, plan);
        assertThat(table.scripts.get(2)).contains("delete chain netdev netfence veth1\n")
                .contains("comment \"netfence container=c2 ifindex=12\"");
        assertThat(guards.installed()).containsOnlyKeys("veth1");
        assertThat(guards.installed().get("veth1")).isEqualTo(new GuardChain("veth1", 12, "c2"));
    }

    @Test
    void aReApplyOfTheSameRulesReadsTheChainBackAndWritesNothingWhileItHoldsWhatWasWritten() {
        HostGuards guards = new HostGuards(HostGuardMode.AUTO, sides, table);
        sides.peers.add(new HostSides.HostInterface("veth1", 11, 2));
        assertThat(guards.apply("c1", NS, plan).drift()).isNull();
        assertThat(table.listed).as("a new guard is written without reading first").isEmpty();
        table.chains.put("veth1", new GuardRenderer().listing(new GuardChain("veth1", 11, "c1"), plan));

        HostGuards.Result again = guards.apply("c1", NS, plan);

        assertThat(again.guards()).as("no source binding was read: not claimed").containsExactly("netns");
        assertThat(again.drift()).isNull();
        assertThat(table.listed).containsExactly("veth1");
        assertThat(table.scripts).hasSize(1);
    }

    @Test
    void aChainThatNoLongerHoldsWhatWasWrittenIsRewrittenAndTheResultSaysWhatDiffered() {
        HostGuards guards = new HostGuards(HostGuardMode.AUTO, sides, table);
        sides.peers.add(new HostSides.HostInterface("veth1", 11, 2));
        guards.apply("c1", NS, plan);
        String written = new GuardRenderer().listing(new GuardChain("veth1", 11, "c1"), plan);
        table.chains.put("veth1", written.replace("policy drop;", "policy accept;"));

        HostGuards.Result loosened = guards.apply("c1", NS, plan);

        assertThat(loosened.drift()).isEqualTo("host guard chain veth1 holds 'type filter hook ingress device \"veth1\" "
                + "priority -500; policy accept;' where netfence wrote 'type filter hook ingress device \"veth1\" "
                + "priority -500; policy drop;' (" + new GuardRenderer().rules(plan).size() + " rule lines, "
                + new GuardRenderer().rules(plan).size() + " written)");
        assertThat(table.scripts).hasSize(2);
        assertThat(table.scripts.get(1)).isEqualTo(table.scripts.get(0));

        table.chains.remove("veth1");
        assertThat(guards.apply("c1", NS, plan).drift()).isEqualTo("host guard chain veth1 is missing");
        assertThat(table.scripts).hasSize(3);
    }

    @Test
    void whileTheHostRulesetGenerationStaysWhereTheChainWasKnownToHoldItAReApplyNeitherListsNorWrites() {
        HostGuards guards = new HostGuards(HostGuardMode.AUTO, sides, table);
        sides.peers.add(new HostSides.HostInterface("veth1", 11, 2));
        table.generation = 5;
        guards.apply("c1", NS, plan); // written by our transaction alone: 5 -> 6
        String written = new GuardRenderer().listing(new GuardChain("veth1", 11, "c1"), plan);
        table.chains.put("veth1", written);

        assertThat(guards.apply("c1", NS, plan).drift()).isNull();
        assertThat(table.listed).isEmpty();

        table.generation = 9; // someone committed something in the host's ruleset
        assertThat(guards.apply("c1", NS, plan).drift()).isNull();
        assertThat(guards.apply("c1", NS, plan).drift()).isNull();
        assertThat(table.listed).as("listed once at generation 9, then known to hold").containsExactly("veth1");

        table.generation = 10;
        table.chains.put("veth1", written.replace("policy drop;", "policy accept;"));
        assertThat(guards.apply("c1", NS, plan).drift()).startsWith("host guard chain veth1 holds");
        assertThat(table.scripts).hasSize(2);
    }

    @Test
    void aChangedPlanIsWrittenWithoutReadingFirstAndIsNoDrift() {
        HostGuards guards = new HostGuards(HostGuardMode.AUTO, sides, table);
        sides.peers.add(new HostSides.HostInterface("veth1", 11, 2));
        guards.apply("c1", NS, plan);
        PlannedRules other = new RulePlanner().plan(new PolicyParser().parse(
                "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.51.100.7:443\"],\"dns\":false,"
                        .concat("\"outbound\":false,\"inbound\":false}").getBytes(StandardCharsets.UTF_8)),
                Map.of(), List.of());

        HostGuards.Result changed = guards.apply("c1", NS, other);

        assertThat(changed.drift()).isNull();
        assertThat(table.listed).isEmpty();
        assertThat(table.scripts).hasSize(2);
        assertThat(table.scripts.get(1)).contains("ip daddr 198.51.100.7 tcp dport 443 accept");
    }

    @Test
    void aRejectedWriteRereadsTheTableAndRetriesOnceThenIsRulesRejected() {
        HostGuards guards = new HostGuards(HostGuardMode.AUTO, sides, table);
        sides.peers.add(new HostSides.HostInterface("veth1", 11, 2));
        guards.apply("c1", NS, plan);
        // an admin deleted the chain: the table lists nothing, netfence still believes it is there
        table.listing = "";
        sides.peers.set(0, new HostSides.HostInterface("veth1", 12, 2));
        table.rejectNext = 1;
        guards.apply("c2", NS, plan);
        assertThat(table.scripts.get(table.scripts.size() - 1)).doesNotContain("delete chain");

        table.rejectNext = 2;
        assertThatThrownBy(() -> guards.apply("c2", NS, plan))
                .isInstanceOfSatisfying(EnforcementException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.RULES_REJECTED));
    }

    @Test
    void releaseAndSweepRemoveOnlyWhatIsGone() {
        HostGuards guards = new HostGuards(HostGuardMode.AUTO, sides, table);
        sides.peers.add(new HostSides.HostInterface("veth1", 11, 2));
        guards.apply("c1", NS, plan);
        sides.peers.set(0, new HostSides.HostInterface("veth2", 21, 2));
        guards.apply("c2", NS, plan);
        sides.links.putAll(Map.of("veth1", 11, "veth2", 21));
        int before = table.scripts.size();

        assertThat(guards.sweep()).isZero();
        assertThat(table.scripts).hasSize(before); // nothing to remove: no write at all
        sides.links.put("veth2", 99); // same name, another interface
        assertThat(guards.sweep()).isEqualTo(1);
        assertThat(table.scripts.get(before)).isEqualTo("flush chain netdev netfence veth2\ndelete chain netdev netfence veth2\n");
        assertThat(guards.release("c1")).isEqualTo(1);
        assertThat(guards.count()).isZero();
    }

    @Test
    void aChainWhoseInterfaceNoLongerLeadsIntoTheContainersNamespaceIsClosedAndTheOutcomeSaysSo() {
        HostGuards guards = new HostGuards(HostGuardMode.AUTO, sides, table);
        sides.peers.add(new HostSides.HostInterface("veth1", 11, 2));
        sides.peers.add(new HostSides.HostInterface("veth2", 12, 3));
        guards.apply("c1", NS, plan);
        // veth2's peer moved into a namespace of the workload's own: still there, no longer found
        sides.peers.remove(1);
        sides.links.put("veth2", 12);

        HostGuards.Result some = guards.apply("c1", NS, plan);

        GuardRenderer renderer = new GuardRenderer();
        assertThat(some.guards()).as("no source binding was read: not claimed").containsExactly("netns");
        assertThat(table.scripts.get(table.scripts.size() - 1)).isEqualTo(renderer.replace(
                List.of(new GuardChain("veth1", 11, "c1"), new GuardChain("veth2", 12, "c1")), List.of(),
                chain -> chain.device().equals("veth1") ? renderer.rules(plan) : List.of()));

        sides.peers.clear();
        sides.links.put("veth1", 11);
        HostGuards.Result none = guards.apply("c1", NS, plan);

        assertThat(none.guards()).containsExactly("netns");
        assertThat(none.chains()).extracting(GuardChain::device).containsExactly("veth1", "veth2");
        assertThat(none.reason()).isEqualTo("the container has no veth whose peer is in netfence's namespace; the host"
                + " guards of its former veths [veth1, veth2] now drop everything");
        assertThat(table.scripts.get(table.scripts.size() - 1)).contains("add chain netdev netfence veth1 {\n}\n");
    }

    @Test
    void closeEmptiesEveryChainOfTheContainerWhoseInterfaceIsStillThereAndNoOtherOne() {
        HostGuards guards = new HostGuards(HostGuardMode.AUTO, sides, table);
        sides.peers.add(new HostSides.HostInterface("veth1", 11, 2));
        guards.apply("c1", NS, plan);
        sides.peers.set(0, new HostSides.HostInterface("veth2", 12, 2));
        guards.apply("c2", NS, plan);
        sides.peers.clear();
        sides.links.putAll(Map.of("veth1", 11, "veth2", 12));

        assertThat(guards.close("c1")).containsExactly("veth1");

        assertThat(table.scripts.get(table.scripts.size() - 1)).isEqualTo(new GuardRenderer().replace(
                List.of(new GuardChain("veth1", 11, "c1")), List.of(), chain -> List.of()));
        assertThat(guards.close("c3")).isEmpty();
        assertThat(new HostGuards(HostGuardMode.OFF, sides, table).close("c2")).isEmpty();
    }

    @Test
    void aChainWhoseInterfaceIsGoneIsLeftToTheSweepNotWritten() {
        HostGuards guards = new HostGuards(HostGuardMode.AUTO, sides, table);
        sides.peers.add(new HostSides.HostInterface("veth1", 11, 2));
        guards.apply("c1", NS, plan);
        sides.peers.set(0, new HostSides.HostInterface("veth9", 19, 2)); // the container restarted: a new veth

        HostGuards.Result result = guards.apply("c1", NS, plan);

        assertThat(result.chains()).extracting(GuardChain::device).containsExactly("veth9");
        assertThat(table.scripts.get(table.scripts.size() - 1)).doesNotContain("veth1");
    }

    @Test
    void aNewcomerFirstGuardedWithAnIpv6AddressAnotherContainerGaveItselfBeforeNamesThatContainerOnce() {
        HostGuards guards = new HostGuards(HostGuardMode.AUTO, sides, table);
        List<String> told = new ArrayList<>();
        guards.onClaimedBefore(told::add);
        HostSides.HostInterface workload = new HostSides.HostInterface("veth1", 11, 2,
                new HostSides.Binding("0a:00:00:00:00:01", List.of("10.88.0.5"), List.of("fe80::1")));
        HostSides.HostInterface claiming = new HostSides.HostInterface("veth1", 11, 2,
                new HostSides.Binding("0a:00:00:00:00:01", List.of("10.88.0.5"), List.of("fe80::1", "2001:db8::6")));
        HostSides.HostInterface neighbour = new HostSides.HostInterface("veth2", 12, 3,
                new HostSides.Binding("0a:00:00:00:00:02", List.of("10.88.0.6"), List.of("fe80::2", "2001:db8::6")));
        sides.peers.add(workload);
        guards.apply("c1", NS, plan);
        sides.peers.set(0, claiming); // the workload gives itself the address its neighbour-to-be will be given
        guards.apply("c1", NS, plan);
        assertThat(table.scripts.get(table.scripts.size() - 1)).contains("2001:db8::6");
        assertThat(told).isEmpty();

        sides.peers.set(0, neighbour);
        sides.links.put("veth1", 11); // the workload's interface is still there
        guards.apply("c2", NS, plan);

        assertThat(told).containsExactly("c1");
        assertThat(table.scripts.get(table.scripts.size() - 2)).contains("netfence container=c2 ifindex=12");
        assertThat(table.scripts.get(table.scripts.size() - 1)).as("the workload's chain written again right after")
                .contains("netfence container=c1 ifindex=11").doesNotContain("2001:db8::6");
        guards.apply("c2", NS, plan);
        assertThat(told).as("only a chain's first guard tells").containsExactly("c1");
        sides.peers.set(0, claiming);
        guards.apply("c1", NS, plan); // what the reconciler does when told
        assertThat(table.scripts.get(table.scripts.size() - 1)).contains("netfence container=c1 ifindex=11").doesNotContain("2001:db8::6");
    }

    @Test
    void aListenerThatThrowsDoesNotFailTheNewcomersApply() {
        HostGuards guards = new HostGuards(HostGuardMode.AUTO, sides, table);
        List<String> asked = new ArrayList<>();
        guards.onClaimedBefore(owner -> {
            asked.add(owner);
            throw new IllegalStateException("the reconciler is closed");
        });
        sides.peers.add(new HostSides.HostInterface("veth1", 11, 2,
                new HostSides.Binding("0a:00:00:00:00:01", List.of(), List.of("fe80::1"))));
        guards.apply("c1", NS, plan);
        sides.peers.set(0, new HostSides.HostInterface("veth1", 11, 2,
                new HostSides.Binding("0a:00:00:00:00:01", List.of(), List.of("fe80::1", "2001:db8::6"))));
        guards.apply("c1", NS, plan);
        sides.peers.set(0, new HostSides.HostInterface("veth2", 12, 3,
                new HostSides.Binding("0a:00:00:00:00:02", List.of(), List.of("2001:db8::6"))));

        assertThat(guards.apply("c2", NS, plan).guards()).containsExactly("netns", "host");
        assertThat(asked).containsExactly("c1");
    }
}
