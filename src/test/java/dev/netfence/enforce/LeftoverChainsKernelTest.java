package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.CommandRunner;
import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.SandboxNetExtension;
import dev.netfence.testkit.Sh;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A namespace whose rules an earlier netfence wrote with another iptables variant (restarted with
 * another {@code --backend}, an {@code auto} that now finds libnftables, a host whose iptables
 * changed) keeps only the new backend's rules: the old variant's {@code NETFENCE-*} chains and
 * hooks are removed in the first apply, also iptables-legacy's, which nftables cannot see. Plan B
 * allows one port more than plan A, and real connections show B in force alone: the old set, left
 * beside it, kept that port shut under an {@code applied} outcome. Also: a legacy filter table
 * without netfence's chains is left as it is, and a removal the kernel refuses, or a listing netfence does not trust, leaves the old chains (logged) and fails nothing.
 * Its own sandbox: a legacy table, once made, stays in the namespace.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class LeftoverChainsKernelTest {
    private static final int FIRST = 8001;
    private static final int SECOND = 8002;
    private static final int THIRD = 8003;

    @RegisterExtension
    static final SandboxNetExtension SANDBOX = SandboxNetExtension.withPeerListening(FIRST, SECOND, THIRD);

    /** A backend switch: what wrote plan A, what writes plan B. */
    enum Switch {
        LEGACY_TO_NFT(BackendChoice.IPTABLES_LEGACY, BackendChoice.NFT),
        LEGACY_TO_IPTABLES_NFT(BackendChoice.IPTABLES_LEGACY, BackendChoice.IPTABLES_NFT),
        IPTABLES_NFT_TO_LEGACY(BackendChoice.IPTABLES_NFT, BackendChoice.IPTABLES_LEGACY);

        final BackendChoice before;
        final BackendChoice after;

        Switch(BackendChoice before, BackendChoice after) {
            this.before = before;
            this.after = after;
        }
    }

    @BeforeEach
    void resetRules() throws Exception {
        SANDBOX.net().resetRules();
        SANDBOX.net().resetLegacyRules();
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), SECOND)).isEqualTo("OK");
    }

    @ParameterizedTest
    @EnumSource(Switch.class)
    void theOldVariantsChainsAndHooksAreRemovedAndOnlyTheNewPlanIsInForce(Switch change) throws Exception {
        EnforcementResult a = apply(enforcer(change.before), FIRST);
        assertThat(a.status()).as("%s", a).isEqualTo("applied");
        assertThat(variant(change.before)).contains(":NETFENCE-OUT", "-A OUTPUT -j NETFENCE-OUT");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), SECOND)).isNotEqualTo("OK");

        EnforcementResult b = apply(enforcer(change.after), FIRST, SECOND);

        assertThat(b.status()).as("%s", b).isEqualTo("applied");
        assertThat(b.backend()).isEqualTo(change.after.flag());
        for (String peer : List.of(SANDBOX.net().peerV4(), SANDBOX.net().peerV6())) {
            assertThat(SANDBOX.net().containerTcp(peer, SECOND)).as("only plan B allows %s:%s", peer, SECOND)
                    .isEqualTo("OK");
            assertThat(SANDBOX.net().containerTcp(peer, FIRST)).isEqualTo("OK");
            assertThat(SANDBOX.net().containerTcp(peer, THIRD)).as("neither plan allows it").isNotEqualTo("OK");
        }
        if (change.after == BackendChoice.IPTABLES_LEGACY) {
            assertThat(variant(BackendChoice.IPTABLES_NFT)).as("iptables-nft's set").doesNotContain("NETFENCE");
        } else {
            assertThat(variant(BackendChoice.IPTABLES_LEGACY)).as("iptables-legacy's set").doesNotContain("NETFENCE");
        }
    }

    @Test
    void aLegacyFilterTableWithoutNetfencesChainsIsReadAndLeftAsItIs() throws Exception {
        String ns = SANDBOX.net().containerNs();
        Sh.ok("ip", "netns", "exec", ns, "iptables-legacy", "-A", "OUTPUT", "-p", "udp", "--dport", "9", "-j", "ACCEPT");
        List<List<String>> ran = Collections.synchronizedList(new ArrayList<>());
        CommandRunner recording = (argv, stdin, timeout) -> {
            ran.add(argv);
            return new ProcessCommandRunner().run(argv, stdin, timeout);
        };
        EnforcerConfig config = EnforcerConfig.custom().backend(BackendChoice.NFT).cgroupCheck(false).build();

        EnforcementResult result = apply(new DefaultEnforcer(config, recording, Clock.systemUTC(),
                new SimpleMeterRegistry()), FIRST, SECOND);

        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        assertThat(ran).as("the legacy tables were read, nothing restored")
                .anyMatch(argv -> argv.contains("iptables-legacy-save"))
                .noneMatch(argv -> argv.stream().anyMatch(a -> a.endsWith("-restore")));
        assertThat(Sh.ok("ip", "netns", "exec", ns, "iptables-legacy-save", "-t", "filter"))
                .contains("-A OUTPUT -p udp -m udp --dport 9 -j ACCEPT");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), SECOND)).isEqualTo("OK");
    }

    @Test
    void aRemovalTheKernelRefusesLeavesTheOldChainsFailsNothingAndEveryOutcomeSaysSoUntilALookGoesThrough()
            throws Exception {
        assertThat(apply(enforcer(BackendChoice.IPTABLES_LEGACY), FIRST).status()).isEqualTo("applied");
        // a workload's own rule (CAP_NET_ADMIN) jumping to the old chain: -X is refused
        Sh.ok("ip", "netns", "exec", SANDBOX.net().containerNs(), "iptables-legacy", "-A", "OUTPUT", "-p", "udp", "-j",
                "NETFENCE-OUT");
        DefaultEnforcer nft = enforcer(BackendChoice.NFT);

        EnforcementResult result = apply(nft, FIRST, SECOND);

        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        assertThat(result.attempts()).isEqualTo(1);
        assertThat(result.warnings()).as("review 197 M3: the outcome, not only the log").contains(LeftoverChains.WARNING);
        assertThat(variant(BackendChoice.IPTABLES_LEGACY)).as("nothing of the refused transaction happened")
                .contains("-A OUTPUT -j NETFENCE-OUT");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), SECOND)).as("the old chains still refuse it")
                .isNotEqualTo("OK");
        EnforcementResult resync = nft.reconcile(request(FIRST, SECOND),
                NamespaceId.of(Path.of("/run/netns", SANDBOX.net().containerNs())));
        assertThat(resync.warnings()).as("a quiet resync says the same: %s", resync).contains(LeftoverChains.WARNING);
        assertThat(resync.drift()).as("nothing changed").isNull();
        assertThat(apply(nft, FIRST, SECOND).warnings()).as("looked again, refused again").contains(LeftoverChains.WARNING);

        Sh.ok("ip", "netns", "exec", SANDBOX.net().containerNs(), "iptables-legacy", "-D", "OUTPUT", "-p", "udp", "-j",
                "NETFENCE-OUT");
        EnforcementResult removed = apply(nft, FIRST, SECOND);

        assertThat(removed.status()).as("%s", removed).isEqualTo("applied");
        assertThat(removed.warnings()).as("the next write looked again and removed them")
                .doesNotContain(LeftoverChains.WARNING);
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), SECOND)).isEqualTo("OK");
    }

    /**
     * Review 196 HIGH: a legacy rule of the workload's that iptables-save prints with a raw string
     * ({@code -m recent --name}) made the listing untrusted and every apply fail VERIFY_FAILED for good.
     */
    @Test
    void aLegacyRuleOfTheWorkloadsThatMakesTheListingUntrustedFailsNothing() throws Exception {
        Sh.ok("ip", "netns", "exec", SANDBOX.net().containerNs(), "iptables-legacy", "-A", "INPUT", "-p", "tcp",
                "--dport", "22", "-m", "recent", "--set", "--name", "SSH");

        EnforcementResult result = apply(enforcer(BackendChoice.NFT), FIRST, SECOND);

        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), SECOND)).isEqualTo("OK");
    }

    /** Both families' filter tables as {@code backend}'s save prints them. */
    private static String variant(BackendChoice backend) {
        String suffix = backend == BackendChoice.IPTABLES_LEGACY ? "-legacy-save" : "-nft-save";
        return Sh.ok("ip", "netns", "exec", SANDBOX.net().containerNs(), "iptables" + suffix, "-t", "filter")
                + Sh.ok("ip", "netns", "exec", SANDBOX.net().containerNs(), "ip6tables" + suffix, "-t", "filter");
    }

    private static DefaultEnforcer enforcer(BackendChoice backend) {
        EnforcerConfig config = EnforcerConfig.custom().backend(backend).cgroupCheck(false)
                .backoff(Duration.ofMillis(10), Duration.ofMillis(50)).build();
        return new DefaultEnforcer(config, new ProcessCommandRunner(), Clock.systemUTC(), new SimpleMeterRegistry());
    }

    private static EnforcementResult apply(DefaultEnforcer enforcer, int... ports) {
        return enforcer.enforce(request(ports));
    }

    /** A container allowed {@code ports} on the peer; with an id, so that its resyncs may be quiet. */
    private static EnforcementRequest request(int... ports) {
        String endpoints = IntStream.of(ports).mapToObj(port -> "\"" + SANDBOX.net().peerV4() + ":" + port + "\",\"["
                + SANDBOX.net().peerV6() + "]:" + port + "\"").collect(Collectors.joining(","));
        String json = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[" + endpoints
                + "],\"dns\":false,\"outbound\":false,\"inbound\":false}";
        NetworkPolicy policy = new PolicyParser().parse(json.getBytes(StandardCharsets.UTF_8));
        return new EnforcementRequest("leftover-container-0001", null, SANDBOX.net().containerPid(), policy,
                Clock.systemUTC().instant().plusSeconds(20));
    }
}
