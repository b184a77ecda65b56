package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.hostguard.HostSides.Binding;
import dev.netfence.rules.PlannedRules;
import dev.netfence.rules.RulePlanner;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ClaimedAddressesTest {
    private final PlannedRules plan = new RulePlanner().quarantine();
    private final FakeHostSides sides = new FakeHostSides();
    private final GuardRenderer renderer = new GuardRenderer();
    private final FakeHostTable table = new FakeHostTable();
    private final ClaimedAddresses claims = new ClaimedAddresses(renderer, new RenderedGuards(renderer));
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
    void theClaimersChainIsWrittenAgainWithoutTheAddressThenItsPlansRulesAndItsOwnerIsToldOnce() {
        GuardWrites writes = installed();
        claimed();
        Binding read = new Binding("0a:00:00:00:00:02", List.of(), List.of("2001:db8::6"));
        first.narrow(neighbour, read);
        List<ClaimedAddresses.Written> out = claims.claimedBy(neighbour, "c2", read, first);
        int before = table.scripts.size();

        claims.rewrite(out, List.of(List.of("2001:db8::7")), writes);

        assertThat(table.scripts).hasSize(before + 1);
        List<String> body = new ArrayList<>(renderer.binding(new Binding("0a:00:00:00:00:01", List.of("10.88.0.5"),
                List.of("fe80::1", "2001:db8::7")), List.of("2001:db8::7"), plan));
        body.addAll(renderer.rules(plan));
        String script = table.scripts.get(before);
        assertThat(script).contains("netfence container=c1 ifindex=11").doesNotContain("2001:db8::6");
        body.forEach(line -> assertThat(script).contains(line));
        List<String> told = new ArrayList<>();
        claims.listener(told::add);
        claims.tell(List.of(out.get(0), out.get(0)));
        assertThat(told).containsExactly("c1");
    }

    @Test
    void aClaimerReleasedOrWrittenAgainMeanwhileOrAdoptedIsNotWrittenOnlyTold() {
        GuardWrites writes = installed();
        claimed();
        Binding read = new Binding("0a:00:00:00:00:02", List.of(), List.of("2001:db8::6"));
        List<ClaimedAddresses.Written> out = claims.claimedBy(neighbour, "c2", read, first);
        assertThat(out).hasSize(1);
        int before = table.scripts.size();
        claims.wrote(workload, out.get(0).bound(), plan); // its own apply since: another binding record
        claims.rewrite(out, List.of(List.of()), writes);
        assertThat(table.scripts).as("written again meanwhile").hasSize(before);

        claims.wrote(workload, new Binding("0a:00:00:00:00:01", List.of(), List.of("fe80::1", "2001:db8::6")), null);
        List<ClaimedAddresses.Written> adopted = claims.claimedBy(neighbour, "c2", read, first);
        assertThat(adopted).hasSize(1);
        claims.rewrite(adopted, List.of(List.of()), writes);
        assertThat(table.scripts).as("adopted: its plan is not known").hasSize(before);

        claims.wrote(workload, new Binding("0a:00:00:00:00:01", List.of(), List.of("fe80::1", "2001:db8::6")), plan);
        List<ClaimedAddresses.Written> released = claims.claimedBy(neighbour, "c2", read, first);
        assertThat(released).hasSize(1);
        synchronized (writes) {
            writes.remove(List.of(workload));
        }
        int removed = table.scripts.size();
        claims.rewrite(released, List.of(List.of()), writes);
        assertThat(table.scripts).as("released meanwhile: not brought back").hasSize(removed);
    }

    /** Guard writes over the fake table, the workload's chain installed on veth1. */
    private GuardWrites installed() {
        sides.peers.add(new HostSides.HostInterface("veth1", 11, 2));
        GuardWrites writes = new GuardWrites(table, sides::current);
        writes.submit(List.of(workload), renderer.rules(plan), Map.of("veth1", renderer.listing(workload, plan)));
        return writes;
    }
}
