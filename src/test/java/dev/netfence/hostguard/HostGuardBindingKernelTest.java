package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.rules.PlannedRules;
import dev.netfence.rules.RulePlanner;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.Sh;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The host guard's source binding on the real kernel, against what a workload holding
 * CAP_NET_ADMIN can do to its own interface (namespaces and veth pairs the test makes; the podman
 * proofs that the frames never reach the bridge are in HostGuardBindingPodmanTest): a chain binds
 * the MAC and IPv4 addresses its container held at the chain's first apply, also across a restart
 * of netfence, never an address the host holds, and a veth moved out of the container's namespace
 * has its chain closed.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class HostGuardBindingKernelTest {
    private final GuardVeths veths = new GuardVeths();
    private final PlannedRules plan = new RulePlanner().quarantine();

    @AfterEach
    void cleanUp() {
        veths.cleanUp();
    }

    @Test
    void eachChainFirstBindsItsContainersOwnMacAndAddressesAndLaterOnlyIpv6AddedIsBoundNeverANewMacOrIpv4() {
        GuardVeths.Container c = veths.container();
        HostGuards guards = GuardVeths.guards(HostGuardMode.AUTO);
        guards.apply("c-bind", c.nsFile(), plan);

        String listed = GuardVeths.listed(c.hostSide());
        assertThat(listed).contains("ether saddr != " + c.mac() + " drop", "arp saddr ether != " + c.mac() + " drop",
                "arp saddr ip != { 0.0.0.0, " + c.ipv4() + " } drop", "ip saddr != " + c.ipv4() + " drop",
                "ip6 saddr != { ::, " + c.ipv6() + " } drop");
        assertThat(listed.indexOf("ether saddr != ")).as("bound before anything is accepted")
                .isLessThan(listed.indexOf("meta protocol arp accept"));

        // as a workload holding CAP_NET_ADMIN could: a neighbour's IPv4 address and MAC, and an IPv6 address
        String mac = c.mac();
        Sh.ok("ip", "-n", c.ns(), "addr", "add", "198.18.251.77/32", "dev", "eth0");
        Sh.ok("ip", "-n", c.ns(), "addr", "add", "2001:db8:251::77/128", "dev", "eth0", "nodad");
        Sh.ok("ip", "-n", c.ns(), "link", "set", "eth0", "address", "0a:00:00:fb:00:77");
        guards.apply("c-bind", c.nsFile(), plan);
        assertThat(GuardVeths.listed(c.hostSide()))
                .contains("ether saddr != " + mac + " drop", "ip saddr != " + c.ipv4() + " drop",
                        "ip6 saddr != { ::, " + c.ipv6() + " } ip6 saddr != 2001:db8:251::77 drop")
                .doesNotContain("198.18.251.77", "0a:00:00:fb:00:77");
        guards.release("c-bind");
    }

    @Test
    void anAddressTheHostHoldsIsNeverBoundWhateverTheContainersInterfaceClaims() {
        // the host side holds the container's "gateway"; a workload holding CAP_NET_ADMIN gives its own
        // interface that address too (and one more of its own): only the latter may be bound
        GuardVeths.Container c = veths.container();
        String gateway = c.ipv4().substring(0, c.ipv4().lastIndexOf('.')) + ".1";
        Sh.ok("ip", "addr", "add", gateway + "/30", "dev", c.hostSide());
        Sh.ok("ip", "-n", c.ns(), "addr", "add", gateway + "/32", "dev", "eth0");
        Sh.ok("ip", "-n", c.ns(), "addr", "add", "198.18.251.78/32", "dev", "eth0");
        HostGuards guards = GuardVeths.guards(HostGuardMode.AUTO);
        guards.apply("c-claim", c.nsFile(), plan);

        String listed = GuardVeths.listed(c.hostSide());
        assertThat(listed).contains("arp saddr ip != { 0.0.0.0, 198.18.251.78, " + c.ipv4() + " } drop",
                "ip saddr != { 198.18.251.78, " + c.ipv4() + " } drop").doesNotContain(gateway + ",", gateway + " }");
        guards.release("c-claim");
    }

    @Test
    void aVethMovedOutOfTheContainersNamespaceHasItsHostGuardClosedNotLeftHoldingTheOldPolicy() {
        // a workload holding CAP_NET_ADMIN moves its eth0 into a namespace of its own, where no
        // in-namespace rule follows it: the host side is then all that stands between it and the bridge
        GuardVeths.Container c = veths.container();
        String mac = c.mac();
        HostGuards guards = GuardVeths.guards(HostGuardMode.AUTO);
        assertThat(guards.apply("c-moved", c.nsFile(), plan).host()).isTrue();
        String child = veths.namespace();
        Sh.ok("ip", "-n", c.ns(), "link", "set", "eth0", "netns", child);

        HostGuards.Result after = guards.apply("c-moved", c.nsFile(), plan);

        assertThat(after.host()).isFalse();
        assertThat(after.reason()).contains("now drop everything");
        String listed = GuardVeths.listed(c.hostSide());
        // nothing but drops, the binding among them: a restarted netfence still knows it
        assertThat(listed).contains("policy drop;", "ether saddr != " + mac + " drop").doesNotContain("accept");

        // netfence restarts while the chain is closed; the workload takes a neighbour's MAC and address
        // and moves its eth0 back
        HostGuards second = GuardVeths.guards(HostGuardMode.AUTO);
        assertThat(second.adopt()).isGreaterThanOrEqualTo(1);
        Sh.ok("ip", "-n", child, "link", "set", "eth0", "address", "0a:00:00:fb:00:80");
        Sh.ok("ip", "-n", child, "link", "set", "eth0", "netns", c.ns());
        // a move flushes an interface's addresses: its own back, and the neighbour's
        Sh.ok("ip", "-n", c.ns(), "addr", "add", c.ipv4() + "/30", "dev", "eth0");
        Sh.ok("ip", "-n", c.ns(), "addr", "add", "198.18.251.80/32", "dev", "eth0");
        assertThat(second.apply("c-moved", c.nsFile(), plan).host()).isTrue();
        assertThat(GuardVeths.listed(c.hostSide())).contains("ether saddr != " + mac + " drop",
                "ip saddr != " + c.ipv4() + " drop").doesNotContain("198.18.251.80", "0a:00:00:fb:00:80");
        assertThat(second.release("c-moved")).isEqualTo(1);
    }

    @Test
    void aRestartedInstanceKeepsTheBindingItsPredecessorWroteNotWhatTheInterfaceClaimedMeanwhile() {
        GuardVeths.Container c = veths.container();
        String mac = c.mac();
        GuardVeths.guards(HostGuardMode.AUTO).apply("c-restart", c.nsFile(), plan);
        // while netfence is down, as a workload holding CAP_NET_ADMIN could: a neighbour's IPv4 address and MAC
        Sh.ok("ip", "-n", c.ns(), "addr", "add", "198.18.251.79/32", "dev", "eth0");
        Sh.ok("ip", "-n", c.ns(), "link", "set", "eth0", "address", "0a:00:00:fb:00:79");

        HostGuards second = GuardVeths.guards(HostGuardMode.AUTO); // as after a SIGKILL: nothing in memory
        assertThat(second.adopt()).isEqualTo(1);
        second.apply("c-restart", c.nsFile(), plan);

        assertThat(GuardVeths.listed(c.hostSide()))
                .contains("ether saddr != " + mac + " drop", "arp saddr ether != " + mac + " drop",
                        "arp saddr ip != { 0.0.0.0, " + c.ipv4() + " } drop", "ip saddr != " + c.ipv4() + " drop")
                .doesNotContain("198.18.251.79", "0a:00:00:fb:00:79");
        second.release("c-restart");
    }

    @Test
    void aNeighboursIpv6AddressClaimedLaterIsNeverBoundWhileItsOwnNewOnesAre() {
        GuardVeths.Container c = veths.container();
        GuardVeths.Container neighbour = veths.container();
        while (neighbour.ipv6().equals(c.ipv6())) {
            neighbour = veths.container();
        }
        HostGuards guards = GuardVeths.guards(HostGuardMode.AUTO);
        guards.apply("c-six", c.nsFile(), plan);
        guards.apply("c-neighbour", neighbour.nsFile(), plan);
        // as a workload holding CAP_NET_ADMIN could: its neighbour's address, and one nobody holds
        Sh.ok("ip", "-n", c.ns(), "addr", "add", neighbour.ipv6() + "/128", "dev", "eth0", "nodad");
        Sh.ok("ip", "-n", c.ns(), "addr", "add", "2001:db8:252::5/128", "dev", "eth0", "nodad");

        guards.apply("c-six", c.nsFile(), plan);
        assertThat(GuardVeths.listed(c.hostSide())).contains("ip6 saddr != { ::, " + c.ipv6() + " } ip6 saddr != 2001:db8:252::5 drop")
                .doesNotContain(neighbour.ipv6() + ",", neighbour.ipv6() + " }");

        // and a restarted netfence, which takes the chains' bindings back, no more than that
        HostGuards second = GuardVeths.guards(HostGuardMode.AUTO);
        assertThat(second.adopt()).isGreaterThanOrEqualTo(2);
        second.apply("c-six", c.nsFile(), plan);
        assertThat(GuardVeths.listed(c.hostSide())).doesNotContain(neighbour.ipv6() + ",", neighbour.ipv6() + " }");
        second.release("c-six");
        second.release("c-neighbour");
    }

    @Test
    void aPodMemberThatStartsAfterAnotherChangedTheSharedInterfaceIsHeldToItsFirstBinding() {
        GuardVeths.Container pod = veths.container();
        String mac = pod.mac();
        HostGuards guards = GuardVeths.guards(HostGuardMode.AUTO);
        guards.apply("member-a", pod.nsFile(), plan);
        // member a, holding CAP_NET_ADMIN, gives the pod's eth0 a neighbour's MAC and address, then stops
        Sh.ok("ip", "-n", pod.ns(), "addr", "add", "198.18.251.81/32", "dev", "eth0");
        Sh.ok("ip", "-n", pod.ns(), "link", "set", "eth0", "address", "0a:00:00:fb:00:81");
        assertThat(guards.release("member-a")).isEqualTo(1);

        guards.apply("member-b", pod.nsFile(), plan); // the next member, or member a restarted under a new id

        assertThat(GuardVeths.listed(pod.hostSide())).contains("ether saddr != " + mac + " drop",
                "ip saddr != " + pod.ipv4() + " drop").doesNotContain("198.18.251.81", "0a:00:00:fb:00:81");
        guards.release("member-b");
    }

    @Test
    void anIpv6AddressClaimedBeforeItsHolderStartedIsNotTakenForAFirstOneByARestartedNetfence() {
        GuardVeths.Container c = veths.container();
        GuardVeths.Container next = veths.container();
        String address = "2001:db8:253::" + Integer.toHexString(1 + new java.util.Random().nextInt(0xfffe));
        HostGuards guards = GuardVeths.guards(HostGuardMode.AUTO);
        guards.apply("c-early", c.nsFile(), plan);
        // the next container's address, claimed while nobody holds it: bound, as one gained later
        Sh.ok("ip", "-n", c.ns(), "addr", "add", address + "/128", "dev", "eth0", "nodad");
        guards.apply("c-early", c.nsFile(), plan);
        assertThat(GuardVeths.listed(c.hostSide())).contains(" ip6 saddr != " + address + " drop");

        HostGuards second = GuardVeths.guards(HostGuardMode.AUTO); // netfence restarts
        assertThat(second.adopt()).isGreaterThanOrEqualTo(1);
        Sh.ok("ip", "-n", next.ns(), "addr", "add", address + "/128", "dev", "eth0", "nodad");
        second.apply("c-next", next.nsFile(), plan); // its holder starts
        second.apply("c-early", c.nsFile(), plan);

        assertThat(GuardVeths.listed(c.hostSide())).doesNotContain(address);
        assertThat(GuardVeths.listed(next.hostSide())).contains(address);
        second.release("c-early");
        second.release("c-next");
    }
}
