package dev.netfence.nft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.OwnNamespace;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.rules.PlannedRules;
import dev.netfence.rules.RulePlanner;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.Python;
import dev.netfence.testkit.Sh;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Set;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The in-process nft backend against the real kernel, in namespaces the test makes with
 * {@code ip netns add}: the table it writes lists back (through the {@code nft} tool) as exactly
 * the rendered rules, a re-apply replaces instead of appending, the iptables backend's leftovers
 * are removed in the same apply, a rejected transaction changes nothing, and netfence's own
 * namespace never holds a netfence table.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class InProcessNftKernelTest {
    private static InProcessNft nft;
    private String name;

    @BeforeAll
    static void start() throws Exception {
        nft = InProcessNft.start(Path.of("/proc"), 2);
    }

    @AfterAll
    static void stop() throws Exception {
        if (nft != null) {
            nft.close();
        }
    }

    @BeforeEach
    void makeNamespace() {
        byte[] random = new byte[4];
        new SecureRandom().nextBytes(random);
        name = "nft-" + HexFormat.of().formatHex(random) + "-i";
        Sh.ok("ip", "netns", "add", name);
    }

    @AfterEach
    void removeNamespace() {
        Sh.run("ip", "netns", "del", name);
    }

    private PinnedNamespace pinned() throws Exception {
        Path path = Path.of("/run/netns", name);
        return new PinnedNamespace(0, path, NamespaceId.of(path), () -> { });
    }

    private String nftIn(String... args) {
        List<String> argv = new ArrayList<>(List.of("nsenter", "--net=/run/netns/" + name, "nft"));
        argv.addAll(Arrays.asList(args));
        return Sh.ok(argv.toArray(String[]::new));
    }

    private static Instant soon() {
        return Instant.now().plusSeconds(20);
    }

    private static List<String> ruleLines(String listing) {
        return listing.lines().map(String::strip)
                .filter(l -> l.contains("comment \"netfence:")).toList();
    }

    @Test
    void theTableListsBackAsExactlyTheRenderedRules() throws Exception {
        PlannedRules plan = NftRendererTest.plan("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":"
                + "[\"198.51.100.7:443\",\"[2001:db8::7]:443\",\"pypi.internal:8443\"]}");
        AtomicBoolean changed = new AtomicBoolean();
        try (PinnedNamespace ns = pinned()) {
            nft.apply(ns, plan, true, soon(), changed);
        }
        assertThat(changed).isTrue();
        List<String> expected = ruleLines(new NftRenderer().render(plan));
        assertThat(ruleLines(nftIn("list", "table", "inet", "netfence"))).isEqualTo(expected).hasSizeGreaterThan(20);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.netfence.nft.NftRendererTest#table")
    void everyRendererRowIsAcceptedVerifiedAndListsBackAsRendered(String name, String policyJson, String text)
            throws Exception {
        PlannedRules plan = NftRendererTest.plan(policyJson);
        try (PinnedNamespace ns = pinned()) {
            nft.apply(ns, plan, false, soon(), new AtomicBoolean());
        }
        assertThat(ruleLines(nftIn("list", "table", "inet", "netfence"))).isEqualTo(ruleLines(text));
    }

    @Test
    void aReapplyReplacesTheTableInsteadOfAppending() throws Exception {
        PlannedRules first = NftRendererTest.plan("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.51.100.7:443\"]}");
        PlannedRules quarantine = new RulePlanner().quarantine();
        try (PinnedNamespace ns = pinned()) {
            nft.apply(ns, first, false, soon(), new AtomicBoolean());
            nft.apply(ns, quarantine, false, soon(), new AtomicBoolean());
            nft.apply(ns, quarantine, false, soon(), new AtomicBoolean());
        }
        assertThat(ruleLines(nftIn("list", "ruleset"))).isEqualTo(ruleLines(new NftRenderer().render(quarantine)));
    }

    @Test
    void theIptablesBackendsChainsAreRemovedInTheSameApply() throws Exception {
        Sh.ok("ip", "netns", "exec", name, "iptables-nft", "-N", "NETFENCE-OUT");
        Sh.ok("ip", "netns", "exec", name, "iptables-nft", "-A", "NETFENCE-OUT", "-j", "ACCEPT");
        Sh.ok("ip", "netns", "exec", name, "iptables-nft", "-I", "OUTPUT", "1", "-j", "NETFENCE-OUT");
        Sh.ok("ip", "netns", "exec", name, "ip6tables-nft", "-N", "NETFENCE-IN");
        Sh.ok("ip", "netns", "exec", name, "ip6tables-nft", "-I", "INPUT", "1", "-j", "NETFENCE-IN");
        Sh.ok("ip", "netns", "exec", name, "iptables-nft", "-A", "OUTPUT", "-p", "tcp", "--dport", "9", "-j", "ACCEPT");
        InProcessNft.Applied applied;
        try (PinnedNamespace ns = pinned()) {
            applied = nft.apply(ns, new RulePlanner().quarantine(), false, soon(), new AtomicBoolean());
        }
        assertThat(applied.removedIptablesChains()).isTrue();
        String v4 = Sh.ok("ip", "netns", "exec", name, "iptables-nft-save", "-t", "filter");
        String v6 = Sh.ok("ip", "netns", "exec", name, "ip6tables-nft-save", "-t", "filter");
        assertThat(v4 + v6).doesNotContain("NETFENCE");
        assertThat(v4).as("another program's rule stays").contains("-A OUTPUT -p tcp -m tcp --dport 9 -j ACCEPT");
    }

    @Test
    void whatAnotherProgramAddedToNetfencesTableIsReplacedWithIt() throws Exception {
        PlannedRules plan = new RulePlanner().quarantine();
        try (PinnedNamespace ns = pinned()) {
            nft.apply(ns, plan, false, soon(), new AtomicBoolean());
        }
        String before = nftIn("list", "ruleset");
        nftIn("add", "chain", "inet", "netfence", "extra", "{", "type", "filter", "hook", "forward", "priority", "0", ";", "}");
        String withExtra = nftIn("list", "ruleset");
        assertThat(withExtra).isNotEqualTo(before);
        try (PinnedNamespace ns = pinned()) {
            nft.apply(ns, plan, false, soon(), new AtomicBoolean());
        }
        assertThat(ruleLines(nftIn("list", "ruleset"))).isEqualTo(ruleLines(new NftRenderer().render(plan)));
    }

    @Test
    void theConnectionTrackingFlushEmptiesTheNamespacesTableOnly() throws Exception {
        try (PinnedNamespace ns = pinned()) {
            nft.apply(ns, NftRendererTest.plan("{\"schemaVersion\":1,\"mode\":\"bridge\",\"inbound\":true}"), false,
                    soon(), new AtomicBoolean());
            Sh.ok("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up");
            Sh.ok("ip", "netns", "exec", name, Python.EXE, "-c",
                    "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'x', ('127.0.0.1', 9))");
            assertThat(Sh.ok("ip", "netns", "exec", name, "conntrack", "-L")).contains("dport=9");
            int hostBefore = Integer.parseInt(Sh.ok("conntrack", "-C").strip());
            nft.flushConntrack(ns, soon());
            assertThat(Sh.ok("ip", "netns", "exec", name, "conntrack", "-L")).doesNotContain("dport=9");
            int hostAfter = Integer.parseInt(Sh.ok("conntrack", "-C").strip());
            if (hostBefore >= 20) { // a flushed host table would start again from almost nothing
                assertThat(hostAfter).as("the host's own table is not the one flushed").isGreaterThan(hostBefore / 2);
            }
        }
    }

    @Test
    void theKernelAcceptsATransactionInAFreshNamespaceThatLeavesNothingBehind() {
        String hostBefore = Sh.run("nft", "list", "table", "inet", "netfence").toString();
        nft.probe(new RulePlanner().quarantine(), soon());
        assertThat(Sh.run("nft", "list", "table", "inet", "netfence").toString()).isEqualTo(hostBefore);
    }

    @Test
    void aThreadThatCannotProveItIsHomeIsNeverReusedAndItsTripStillReports() throws Exception {
        Path path = Path.of("/run/netns", name);
        NamespaceId target = NamespaceId.of(path);
        try (OwnNamespace home = OwnNamespace.hold(Path.of("/proc"));
                NamespaceThreads threads = new NamespaceThreads(NativeCalls.load(), home, new NamespaceId(0, 1), 1, 1)) {
            Set<String> names = new HashSet<>();
            for (int i = 0; i < 3; i++) {
                names.add(threads.run(-1, path, target, soon(), n -> Thread.currentThread().getName()));
            }
            assertThat(names).hasSize(3);
            assertThat(threads.replaced()).isEqualTo(3);
        }
    }

    @Test
    void theThreadThatReplacesOneStuckAwayGoesHomeBeforeItWaitsForATrip() throws Exception {
        // the first way home fails (a libc whose setns home refuses once): that thread stays in the
        // trip's namespace and starts its replacement there, which inherits that namespace
        NativeCalls real = NativeCalls.load();
        Path path = Path.of("/run/netns", name);
        NamespaceId target = NamespaceId.of(path);
        NamespaceId own = NamespaceId.of(Path.of("/proc/self/ns/net"));
        java.util.concurrent.atomic.AtomicInteger refusals = new java.util.concurrent.atomic.AtomicInteger(1);
        AtomicBoolean entered = new AtomicBoolean();
        try (OwnNamespace home = OwnNamespace.hold(Path.of("/proc"))) {
            NativeCalls.Libc once = (NativeCalls.Libc) java.lang.reflect.Proxy.newProxyInstance(
                    NativeCalls.Libc.class.getClassLoader(), new Class<?>[] {NativeCalls.Libc.class}, (proxy, method, args) -> {
                        if (method.getName().equals("setns") && (int) args[0] != home.descriptor()) {
                            entered.set(true);
                        } else if (method.getName().equals("setns") && entered.get() && refusals.getAndDecrement() > 0) {
                            throw new com.sun.jna.LastErrorException(1); // EPERM, on the first way home from a trip
                        }
                        try {
                            return method.invoke(real.libc, args);
                        } catch (java.lang.reflect.InvocationTargetException e) {
                            throw e.getCause();
                        }
                    });
            try (NamespaceThreads threads = new NamespaceThreads(new NativeCalls(once, real.nftables), home, 1)) {
                String inside = threads.run(-1, path, target, soon(), n -> "inside");
                assertThat(inside).isEqualTo("inside");
                org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).untilAsserted(() -> {
                    assertThat(threads.replaced()).isEqualTo(1);
                    assertThat(dev.netfence.testkit.ThreadNamespaces.now()).containsOnly(own);
                });
                String again = threads.run(-1, path, target, soon(), n -> "again");
                assertThat(again).isEqualTo("again");
            }
        }
    }

    @Test
    void aNamespaceThatIsNotThePinnedOneIsRefusedBeforeAnythingIsWritten() throws Exception {
        Path path = Path.of("/run/netns", name);
        NamespaceId wrong = new NamespaceId(NamespaceId.of(path).device(), NamespaceId.of(path).inode() + 1);
        try (PinnedNamespace ns = new PinnedNamespace(0, path, wrong, () -> { })) {
            assertThatThrownBy(() -> nft.apply(ns, new RulePlanner().quarantine(), false, soon(), new AtomicBoolean()))
                    .isInstanceOfSatisfying(EnforcementException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INTERNAL));
        }
        assertThat(nftIn("list", "ruleset")).doesNotContain("netfence");
    }
}
