package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.CommandRunner;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.policy.Family;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.SandboxNetExtension;
import dev.netfence.testkit.Sh;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A namespace that changes backend between two applies (netfence restarted with another
 * {@code --backend}, here: a new enforcer) keeps only the new backend's rules, removed in the same
 * apply, both ways; real connections show that only the new policy is in force. Also: whatever
 * another program adds to netfence's nft table is gone after the next apply.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class BackendSwitchKernelTest {
    private static final int FIRST = 8001;
    private static final int SECOND = 8002;

    @RegisterExtension
    static final SandboxNetExtension SANDBOX = SandboxNetExtension.withPeerListening(FIRST, SECOND);

    @BeforeEach
    void resetRules() throws Exception {
        SANDBOX.net().resetRules();
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), SECOND)).isEqualTo("OK");
    }

    @Test
    void fromIptablesToNftTheIptablesChainsAndJumpsAreRemovedInTheSameApply() throws Exception {
        assertThat(apply(BackendChoice.IPTABLES_NFT, FIRST).backend()).isEqualTo("iptables-nft");
        assertThat(SANDBOX.net().save(Family.IPV4)).contains("NETFENCE-OUT");

        EnforcementResult result = apply(BackendChoice.NFT, SECOND);

        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        assertThat(result.backend()).isEqualTo("nft");
        assertThat(SANDBOX.net().save(Family.IPV4) + SANDBOX.net().save(Family.IPV6)).doesNotContain("NETFENCE");
        assertThat(nftRuleset()).contains("table inet netfence");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), SECOND)).isEqualTo("OK");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV6(), SECOND)).isEqualTo("OK");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), FIRST)).isEqualTo("REFUSED");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV6(), FIRST)).isEqualTo("REFUSED");
    }

    @Test
    void aGotoToTheIptablesChainsInOutputIsRemovedWithThem() throws Exception {
        assertThat(apply(BackendChoice.IPTABLES_NFT, FIRST).backend()).isEqualTo("iptables-nft");
        Sh.ok("ip", "netns", "exec", SANDBOX.net().containerNs(), "iptables-nft", "-A", "OUTPUT", "-p", "udp", "-g",
                "NETFENCE-OUT");

        EnforcementResult result = apply(BackendChoice.NFT, SECOND);

        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        assertThat(SANDBOX.net().save(Family.IPV4) + SANDBOX.net().save(Family.IPV6)).doesNotContain("NETFENCE");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), SECOND)).isEqualTo("OK");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), FIRST)).isEqualTo("REFUSED");
    }

    @Test
    void aJumpToTheIptablesChainsFromAChainNetfenceDoesNotListFailsTheSwitchAtOnceAndSaysWhy() throws Exception {
        assertThat(apply(BackendChoice.IPTABLES_NFT, FIRST).backend()).isEqualTo("iptables-nft");
        // what a workload with CAP_NET_ADMIN (or another program) could add: a chain of its own, which the read-back
        // does not list (it lists OUTPUT, INPUT and FORWARD), jumping to netfence's old chain
        String ns = SANDBOX.net().containerNs();
        Sh.ok("ip", "netns", "exec", ns, "iptables-nft", "-N", "WL");
        Sh.ok("ip", "netns", "exec", ns, "iptables-nft", "-A", "WL", "-j", "NETFENCE-OUT");
        Sh.ok("ip", "netns", "exec", ns, "iptables-nft", "-A", "FORWARD", "-j", "WL");

        EnforcementResult result = apply(BackendChoice.NFT, SECOND);

        assertThat(result.status()).as("%s", result).isEqualTo("failed");
        assertThat(result.error().code()).as("%s", result).isEqualTo("RULES_REJECTED");
        assertThat(result.attempts()).as("not retried as a busy firewall until the deadline").isEqualTo(1);
        assertThat(result.error().message()).contains("something netfence does not list still refers to them");
        // fail closed: the port only the old policy allowed stays shut (netfence's table is in force), and nothing
        // the new one allows is promised (the old chains still drop it)
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), FIRST)).isEqualTo("REFUSED");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV6(), FIRST)).isEqualTo("REFUSED");
    }

    @Test
    void fromNftToIptablesTheNftTableIsRemovedInTheSameApply() throws Exception {
        assertThat(apply(BackendChoice.NFT, FIRST).backend()).isEqualTo("nft");
        assertThat(nftRuleset()).contains("table inet netfence");

        EnforcementResult result = apply(BackendChoice.IPTABLES_NFT, SECOND);

        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        assertThat(result.backend()).isEqualTo("iptables-nft");
        assertThat(nftRuleset()).doesNotContain("table inet netfence");
        assertThat(SANDBOX.net().save(Family.IPV4)).contains("NETFENCE-OUT");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), SECOND)).isEqualTo("OK");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV6(), SECOND)).isEqualTo("OK");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), FIRST)).isEqualTo("REFUSED");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV6(), FIRST)).isEqualTo("REFUSED");
    }

    @Test
    void whatAnotherProgramAddedToNetfencesNftTableIsGoneAfterTheNextApply() throws Exception {
        DefaultEnforcer enforcer = enforcer(BackendChoice.NFT);
        assertThat(apply(enforcer, FIRST).status()).isEqualTo("applied");
        Sh.ok("ip", "netns", "exec", SANDBOX.net().containerNs(), "nft", "insert", "rule", "inet", "netfence", "output",
                "tcp", "dport", Integer.toString(SECOND), "accept");
        // and its replies: the plan's established accept takes those of its own (marked) connections only
        Sh.ok("ip", "netns", "exec", SANDBOX.net().containerNs(), "nft", "insert", "rule", "inet", "netfence", "input",
                "tcp", "sport", Integer.toString(SECOND), "accept");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), SECOND)).as("the inserted rule lets traffic by").isEqualTo("OK");

        assertThat(apply(enforcer, FIRST).status()).isEqualTo("applied");

        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), SECOND)).isEqualTo("REFUSED");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), FIRST)).isEqualTo("OK");
    }

    @Test
    void theNftBackendStartsNoProcessForAnApplyOrItsConnectionTrackingFlush() throws Exception {
        List<List<String>> ran = Collections.synchronizedList(new ArrayList<>());
        CommandRunner recording = (argv, stdin, timeout) -> {
            ran.add(argv);
            return new ProcessCommandRunner().run(argv, stdin, timeout);
        };
        EnforcerConfig config = EnforcerConfig.custom().backend(BackendChoice.NFT).cgroupCheck(false).build();
        DefaultEnforcer enforcer = new DefaultEnforcer(config, recording, Clock.systemUTC(), new SimpleMeterRegistry());
        assertThat(apply(enforcer, FIRST).backend()).isEqualTo("nft");
        // nor the first, which looks for iptables-legacy's chains: no legacy filter table here, as /proc tells
        assertThat(ran).as("processes started by the first apply in the namespace").isEmpty();
        ran.clear();

        EnforcementResult result = apply(enforcer, SECOND);

        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        assertThat(ran).as("processes started by the second apply").isEmpty();
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), SECOND)).isEqualTo("OK");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), FIRST)).isEqualTo("REFUSED");
    }

    private static String nftRuleset() {
        return Sh.ok("ip", "netns", "exec", SANDBOX.net().containerNs(), "nft", "list", "ruleset");
    }

    private static DefaultEnforcer enforcer(BackendChoice backend) {
        EnforcerConfig config = EnforcerConfig.custom().backend(backend).cgroupCheck(false)
                .backoff(Duration.ofMillis(10), Duration.ofMillis(50)).build();
        return new DefaultEnforcer(config, new ProcessCommandRunner(), Clock.systemUTC(), new SimpleMeterRegistry());
    }

    private static EnforcementResult apply(BackendChoice backend, int port) {
        return apply(enforcer(backend), port);
    }

    private static EnforcementResult apply(DefaultEnforcer enforcer, int port) {
        String json = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"" + SANDBOX.net().peerV4() + ":" + port
                + "\",\"[" + SANDBOX.net().peerV6() + "]:" + port + "\"],\"dns\":false,\"outbound\":false,\"inbound\":false}";
        NetworkPolicy policy = new PolicyParser().parse(json.getBytes(StandardCharsets.UTF_8));
        return enforcer.enforce(new EnforcementRequest(null, null, SANDBOX.net().containerPid(), policy,
                Clock.systemUTC().instant().plusSeconds(20)));
    }
}
