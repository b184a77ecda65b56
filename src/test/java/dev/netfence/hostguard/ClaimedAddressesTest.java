package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.hostguard.HostSides.Binding;
import dev.netfence.rules.PlannedRules;
import dev.netfence.rules.RulePlanner;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ClaimedAddressesTest {
    private final PlannedRules plan = new RulePlanner().quarantine();
    private final HostGuardsTest.FakeSides sides = new HostGuardsTest.FakeSides();
    private final GuardRenderer renderer = new GuardRenderer();
    private final ClaimedAddresses claims = new ClaimedAddresses(renderer, new RenderedGuards(renderer), sides);
    private final FirstBindings first = new FirstBindings();
    private final GuardChain workload = new GuardChain("veth1", 11, "c1");
    private final GuardChain neighbour = new GuardChain("veth2", 12, "c2");

    /** The workload first bound to fe80::1, then given 2001:db8::6 and 2001:db8::7 (bound, gained later). */
    private void claimed() {
        wrote(workload, new Binding("0a:00:00:00:00:01", List.of("10.88.0.5"), List.of("fe80::1")));
        wrote(workload, new Binding("0a:00:00:00:00:01", List.of("10.88.0.5"), List.of("fe80::1", "2001:db8::6",
                "2001:db8::7")));
    }

    private void wrote(GuardChain chain, Binding read) {
        claims.wrote(chain, first.narrow(chain, read), plan);
    }

    @Test
    void aNewcomersFirstAddressOrOneItLostToDetectionLeavesTheChainsThatGainedItLaterAndOnlyThose() {
        claimed();
        GuardChain bystander = new GuardChain("veth3", 13, "c3");
        wrote(bystander, new Binding("0a:00:00:00:00:03", List.of(), List.of("fe80::3")));
        Binding read = new Binding("0a:00:00:00:00:02", List.of(), List.of("fe80::2", "2001:db8::6"), List.of("2001:db8::7"));
        first.narrow(neighbour, read);

        List<ClaimedAddresses.Written> out = claims.claimedBy(neighbour, "c2", read, first);

        assertThat(out).containsExactly(new ClaimedAddresses.Written(workload,
                new Binding("0a:00:00:00:00:01", List.of("10.88.0.5"), List.of("fe80::1")), plan));
        assertThat(claims.claimedBy(neighbour, "c2", read, first)).as("remembered narrowed").isEmpty();
    }

    @Test
    void aChainsOwnFirstAddressesAndTheChainsOfTheNewcomersOwnerAreNeverTaken() {
        wrote(workload, new Binding("0a:00:00:00:00:01", List.of(), List.of("fe80::1", "2001:db8::6")));
        assertThat(claims.claimedBy(neighbour, "c2", new Binding("0a:00:00:00:00:02", List.of(), List.of("2001:db8::6")),
                first)).as("a first address of the workload's").isEmpty();

        GuardChain sibling = new GuardChain("veth4", 14, "c2");
        wrote(sibling, new Binding("0a:00:00:00:00:04", List.of(), List.of("fe80::4")));
        wrote(sibling, new Binding("0a:00:00:00:00:04", List.of(), List.of("fe80::4", "2001:db8::7")));
        assertThat(claims.claimedBy(neighbour, "c2", new Binding("0a:00:00:00:00:02", List.of(), List.of("2001:db8::7")),
                first)).as("another chain of the newcomer's own container").isEmpty();
        assertThat(claims.claimedBy(neighbour, "c2", null, first)).isEmpty();
    }

    @Test
    void theClaimersBodyIsItsBindingWithoutTheAddressThenItsPlansRulesAndItsOwnerIsToldOnce() {
        claimed();
        Binding read = new Binding("0a:00:00:00:00:02", List.of(), List.of("2001:db8::6"));
        first.narrow(neighbour, read);
        List<ClaimedAddresses.Written> out = claims.claimedBy(neighbour, "c2", read, first);
        sides.peers.add(new HostSides.HostInterface("veth1", 11, 2));
        Map<String, List<String>> bodies = new HashMap<>();
        Map<String, String> expected = new HashMap<>();

        List<GuardChain> all = claims.withClaimers(List.of(neighbour), out, List.of(List.of("2001:db8::7")), bodies,
                expected);

        assertThat(all).containsExactly(neighbour, workload);
        List<String> body = new ArrayList<>(renderer.binding(new Binding("0a:00:00:00:00:01", List.of("10.88.0.5"),
                List.of("fe80::1", "2001:db8::7")), List.of("2001:db8::7"), plan));
        body.addAll(renderer.rules(plan));
        assertThat(bodies.get("veth1")).isEqualTo(body);
        assertThat(String.join("\n", body)).doesNotContain("2001:db8::6");
        assertThat(expected.get("veth1")).contains("netfence container=c1 ifindex=11");
        List<String> told = new ArrayList<>();
        claims.listener(told::add);
        claims.tell(List.of(out.get(0), out.get(0)));
        assertThat(told).containsExactly("c1");
    }

    @Test
    void aClaimerWhoseInterfaceIsGoneOrWhosePlanIsNotKnownIsOnlyTold() {
        claimed();
        claims.wrote(workload, new Binding("0a:00:00:00:00:01", List.of(), List.of("fe80::1", "2001:db8::6")), null);
        Binding read = new Binding("0a:00:00:00:00:02", List.of(), List.of("2001:db8::6"));
        sides.peers.add(new HostSides.HostInterface("veth1", 11, 2));
        List<ClaimedAddresses.Written> adopted = claims.claimedBy(neighbour, "c2", read, first);
        assertThat(adopted).hasSize(1);
        assertThat(claims.withClaimers(List.of(neighbour), adopted, List.of(List.of()), new HashMap<>(), new HashMap<>()))
                .containsExactly(neighbour);

        claims.wrote(workload, new Binding("0a:00:00:00:00:01", List.of(), List.of("fe80::1", "2001:db8::6")), plan);
        sides.peers.clear(); // veth1 gone
        List<ClaimedAddresses.Written> gone = claims.claimedBy(neighbour, "c2", read, first);
        assertThat(claims.withClaimers(List.of(neighbour), gone, List.of(List.of()), new HashMap<>(), new HashMap<>()))
                .containsExactly(neighbour);
    }
}
