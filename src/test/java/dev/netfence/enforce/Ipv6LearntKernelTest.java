package dev.netfence.enforce;

import static dev.netfence.enforce.SandboxEnforcement.policy;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.core.EnforcementResult;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.NeighbourLink;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The rules drop router advertisements and redirects from the moment they are in force, but what
 * the sandbox's kernel took from them before (a container runs before its rules, and an upgrade's
 * first re-apply finds whatever came meanwhile) outlived the apply (found by a review, reproduced
 * on both backends): a neighbour's advertisement made an allowed destination's /64 on-link, with
 * no end, so the neighbour holding that address served the sandbox's allowed connection; the same
 * advertisement gave it a default route of high preference through the neighbour and addresses
 * in the neighbour's prefixes; and a redirect forged from the gateway's link-local address moved
 * another allowed destination to the neighbour for a minute. Now every apply removes them once
 * the rules are in force, and keeps the runtime's own static address, its prefix route (which the
 * same advertisement also named) and default route. The neighbour here holds both destinations;
 * the real hosts sit behind the gateway.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
@ParameterizedClass(name = "backend {0}")
@ValueSource(strings = {"iptables-nft", "nft"})
class Ipv6LearntKernelTest {
    @Parameter
    String backend;

    /**
     * argv: router lifetime (seconds), preference (medium, high, low), then options
     * {@code onlink=PREFIX} (a /64 on-link, not autonomous), {@code slaac=PREFIX} (on-link and
     * autonomous) and {@code route=PREFIX} (route information for a /64); lifetimes infinite. Sent
     * from the neighbour's link-local address to all nodes, or to the address {@code to=ADDRESS}
     * names.
     */
    static final String ADVERTISE = """
            import socket, struct, sys
            index = socket.if_nametoindex("eth0")
            lifetime, pref = int(sys.argv[1]), {"medium": 0, "high": 1, "low": 3}[sys.argv[2]]
            options, to = b"", "ff02::1"
            for option in sys.argv[3:]:
                kind, prefix = option.split("=")
                address = socket.inet_pton(socket.AF_INET6, prefix)
                if kind == "to":
                    to = prefix
                elif kind == "route":
                    options += struct.pack("!BBBBI", 24, 3, 64, pref << 3, 0xffffffff) + address
                else:
                    flags = 0x80 if kind == "onlink" else 0xC0
                    options += struct.pack("!BBBBIII", 3, 4, 64, flags, 0xffffffff, 0xffffffff, 0) + address
            ra = struct.pack("!BBHBBHII", 134, 0, 0, 0, pref << 3, lifetime, 0, 0)
            s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
            s.sendto(ra + options, (to, 0, 0, index))
            """;

    /**
     * argv: the forged source (the gateway's link-local address), the new first hop, the
     * destination, the sandbox. A redirect without options, sent from a raw socket bound to an
     * address the neighbour does not hold (IPV6_FREEBIND).
     */
    static final String REDIRECT = """
            import socket, struct, sys
            source, target, destination, sandbox = sys.argv[1:5]
            index = socket.if_nametoindex("eth0")
            body = struct.pack("!BBHI", 137, 0, 0, 0) + socket.inet_pton(socket.AF_INET6, target) \\
                + socket.inet_pton(socket.AF_INET6, destination)
            s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
            s.setsockopt(socket.IPPROTO_IPV6, 78, 1)  # IPV6_FREEBIND
            s.bind((source, 0, 0, index))
            s.sendto(body, (sandbox, 0, 0, index))
            """;

    private NeighbourLink link;
    private String onLink;
    private String redirected;

    @BeforeEach
    void buildTheLink() throws Exception {
        link = NeighbourLink.create(List.of("a::10", "b::20"));
        onLink = link.host("a::10");
        redirected = link.host("b::20");
    }

    @AfterEach
    void removeTheLink() {
        if (link != null) {
            link.close();
        }
    }

    @Test
    void whatANeighboursAdvertisementAndRedirectTaughtTheSandboxBeforeTheApplyIsGoneAfterItAndTheRealHostsServeIt()
            throws Exception {
        String behindBackup = link.host("b::21");
        await("the sandbox takes the forged redirects").atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(100)).until(() -> {
                    link.neighbourRuns(REDIRECT, NeighbourLink.GATEWAY_LL, NeighbourLink.NEIGHBOUR_LL, redirected,
                            link.sandboxAddress());
                    // one the kernel files under the backup default route, where RTM_DELROUTE does not look
                    link.neighbourRuns(REDIRECT, NeighbourLink.BACKUP_LL, NeighbourLink.NEIGHBOUR_LL, behindBackup,
                            link.sandboxAddress());
                    String cached = link.sandboxIp("route", "show", "cache");
                    return cached.contains(redirected + " ") && cached.contains(behindBackup + " ");
                });
        await("the sandbox takes the neighbour's advertisement").atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(100)).until(() -> {
                    link.neighbourRuns(ADVERTISE, "65535", "high", "onlink=" + link.prefix(0xa), "slaac=" + link.prefix(0xc),
                            "slaac=" + link.prefix(0), "route=" + link.prefix(0xd));
                    String routes = link.sandboxIp("route", "show");
                    return routes.contains(link.prefix(0xa) + "/64 dev eth0 proto kernel")
                            && routes.contains("default via " + NeighbourLink.NEIGHBOUR_LL + " dev eth0 proto ra")
                            && routes.contains(link.prefix(0xd) + "/64 via " + NeighbourLink.NEIGHBOUR_LL)
                            && link.sandboxIp("addr", "show", "dev", "eth0").contains("temporary");
                });
        assertThat(link.sandboxConnects(onLink)).as("without rules, the on-link prefix's holder").isEqualTo("neighbour");
        assertThat(link.sandboxConnects(redirected)).as("without rules, the redirect's new first hop").isEqualTo("neighbour");

        EnforcementResult r = SandboxEnforcement.enforce(link.sandboxPid(), backend, policy("{\"schemaVersion\":1,"
                + "\"mode\":\"bridge\",\"allowedEndpoints\":[\"[" + onLink + "]:443\",\"[" + redirected + "]:443\"],"
                + "\"dns\":false,\"outbound\":false,\"inbound\":false}"), List.of(), Map.of());
        assertThat(r.status()).as("%s", r).isEqualTo("applied");

        String routes = link.sandboxIp("route", "show", "table", "all");
        assertThat(link.sandboxIp("route", "show", "table", "all", "proto", "ra")).as("routes of protocol ra").isBlank();
        assertThat(routes).as("the advertised prefixes' routes")
                .doesNotContain(link.prefix(0xa) + "/64").doesNotContain(link.prefix(0xc) + "/64");
        assertThat(routes).as("the runtime's prefix route (the advertisement named it too) and default routes")
                .contains(link.prefix(0) + "/64 dev eth0 proto kernel")
                .contains("default via " + NeighbourLink.GATEWAY_LL + " dev eth0")
                .contains("default via " + NeighbourLink.BACKUP_LL + " dev eth0 metric 2048");
        assertThat(link.sandboxIp("route", "show", "cache")).as("cached routes, the backup route's too").isBlank();
        String addresses = link.sandboxIp("addr", "show", "dev", "eth0");
        assertThat(addresses).as("autoconfigured addresses").doesNotContain("dynamic")
                .doesNotContain(link.prefix(0xc).replace("::", ":"));
        assertThat(addresses).as("the runtime's addresses").contains(link.sandboxAddress() + "/64")
                .contains("fe80::1/64");

        assertThat(link.sandboxConnects(onLink)).as("the allowed destination the prefix made on-link").isEqualTo("real");
        assertThat(link.sandboxConnects(redirected)).as("the allowed destination of the redirect").isEqualTo("real");
    }
}
