package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.rules.RulePlanner;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** HostGuards' start against a fake kernel: which chains of a previous run it keeps, and what it learns from them. */
class HostGuardsAdoptTest {
    private final FakeHostSides sides = new FakeHostSides();
    private final FakeHostTable table = new FakeHostTable();
    /** A previous run's chain of veth1 holding c1's binding, and one of a veth2 that is gone. */
    private static final String LISTED_VETH1 = """
                table netdev netfence {
                \tchain veth1 {
                \t\tcomment "netfence container=c1 ifindex=11"
                \t\ttype filter hook ingress device "veth1" priority -500; policy drop;
                \t\tether saddr != 0a:00:00:00:00:01 drop comment "netfence:0123456789ab"
                \t\tarp saddr ether != 0a:00:00:00:00:01 drop comment "netfence:0123456789ab"
                \t\tarp saddr ip != { 0.0.0.0, 10.88.0.5 } drop comment "netfence:0123456789ab"
                \t\tip saddr != 10.88.0.5 drop comment "netfence:0123456789ab"
                \t\tip6 saddr != :: drop comment "netfence:0123456789ab"
                \t}
                \tchain veth2 {
                \t\tcomment "netfence container=c2 ifindex=21"
                \t\ttype filter hook ingress device "veth2" priority -500; policy drop;
                \t}
                }
                """;

    @Test
    void adoptKeepsChainsWhoseInterfaceStillExistsAndRemovesTheRest() {
        table.listing = """
                table netdev netfence {
                \tchain veth1 {
                \t\tcomment "netfence container=c1 ifindex=11"
                \t\ttype filter hook ingress device "veth1" priority -500; policy drop;
                \t\tmeta protocol arp accept
                \t}
                \tchain veth2 {
                \t\tcomment "netfence container=c2 ifindex=21"
                \t\ttype filter hook ingress device "veth2" priority -500; policy drop;
                \t}
                \tchain veth3 {
                \t\ttype filter hook ingress devices = { veth3, veth4 } priority -500; policy drop;
                \t}
                }
                """;
        sides.links.putAll(Map.of("veth1", 11, "veth2", 22, "veth3", 31));
        HostGuards guards = new HostGuards(HostGuardMode.AUTO, sides, table);
        assertThat(guards.adopt()).isEqualTo(1);
        assertThat(guards.installed()).containsOnlyKeys("veth1");
        assertThat(table.scripts).containsExactly("flush chain netdev netfence veth2\ndelete chain netdev netfence veth2\n"
                + "flush chain netdev netfence veth3\ndelete chain netdev netfence veth3\n");
    }

    @Test
    void aChainAnotherInstanceWritesForAnInterfaceMadeWhileThisOneStartsIsKept() {
        table.listing = LISTED_VETH1.replace("\t}\n}\n", """
                \t}
                \tchain veth9 {
                \t\tcomment "netfence container=c9 ifindex=91"
                \t\ttype filter hook ingress device "veth9" priority -500; policy drop;
                \t\tmeta protocol arp accept
                \t}
                }
                """);
        sides.links.put("veth1", 11);
        // a rolling update's overlap: the old instance guards a container whose veth was made as this one starts
        table.onList = () -> sides.links.put("veth9", 91);
        HostGuards guards = new HostGuards(HostGuardMode.AUTO, sides, table);

        assertThat(guards.adopt()).isEqualTo(2);
        assertThat(guards.installed()).containsOnlyKeys("veth1", "veth9");
        assertThat(table.scripts).containsExactly("flush chain netdev netfence veth2\ndelete chain netdev netfence veth2\n");
    }

    @Test
    void anAdoptedChainsBindingIsItsFirstEvenWhenRemovingAStaleChainFails() {
        table.listing = LISTED_VETH1;
        sides.links.put("veth1", 11);
        table.rejectNext = 1; // the removal of veth2, whose interface is gone
        HostGuards guards = new HostGuards(HostGuardMode.AUTO, sides, table);
        assertThatThrownBy(guards::adopt).isInstanceOfSatisfying(EnforcementException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.RULES_REJECTED));

        // the workload took a neighbour's MAC and address while netfence was down
        sides.peers.add(new HostSides.HostInterface("veth1", 11, 2,
                new HostSides.Binding("0a:00:00:00:00:99", List.of("10.88.0.5", "10.88.0.7"), List.of())));
        guards.apply("c1", Path.of("/proc/1234/fd/7"), new RulePlanner().quarantine());

        assertThat(table.scripts.get(table.scripts.size() - 1)).contains("ether saddr != 0a:00:00:00:00:01 drop",
                "ip saddr != 10.88.0.5 drop").doesNotContain("10.88.0.7", "0a:00:00:00:00:99");
    }

    @Test
    void anAdoptionThatFailedAtStartIsMadeAgainByTheNextApplyBeforeItReadsABinding() {
        table.listing = LISTED_VETH1;
        sides.links.put("veth1", 11);
        table.listFailures = 1;
        HostGuards guards = new HostGuards(HostGuardMode.AUTO, sides, table);
        assertThatThrownBy(guards::adopt).isInstanceOfSatisfying(EnforcementException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.FIREWALL_UNAVAILABLE));

        sides.peers.add(new HostSides.HostInterface("veth1", 11, 2,
                new HostSides.Binding("0a:00:00:00:00:99", List.of("10.88.0.5", "10.88.0.7"), List.of())));
        guards.apply("c1", Path.of("/proc/1234/fd/7"), new RulePlanner().quarantine());

        assertThat(table.scripts.get(table.scripts.size() - 1)).contains("ether saddr != 0a:00:00:00:00:01 drop",
                "ip saddr != 10.88.0.5 drop").doesNotContain("10.88.0.7", "0a:00:00:00:00:99");
    }
}
