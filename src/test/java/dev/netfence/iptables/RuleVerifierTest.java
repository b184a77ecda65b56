package dev.netfence.iptables;

import static dev.netfence.iptables.RestoreRendererTest.pinned;
import static dev.netfence.iptables.SaveParserTest.fixture;
import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.policy.Family;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
import dev.netfence.rules.Direction;
import dev.netfence.rules.PlannedRules;
import dev.netfence.rules.RulePlanner;
import java.net.InetAddress;
import java.util.Map;
import java.util.Set;
import dev.netfence.rules.RuleSet;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Verification against real read-backs (see {@link SaveParserTest}) and against doctored ones. */
class RuleVerifierTest {
    private final RuleVerifier verifier = new RuleVerifier();
    private final SaveParser parser = new SaveParser();

    /** The plan the fixtures were captured from: the bridge example, pypi.internal resolved once per family. */
    private static RuleSet bridge(Family family) throws Exception {
        NetworkPolicy policy = new PolicyParser().parse(Files.readAllBytes(Path.of("schemas/examples/policy-bridge.json")));
        PlannedRules plan = new RulePlanner().plan(policy,
                Map.of("pypi.internal", List.of(InetAddress.getByName("198.51.100.12"), InetAddress.getByName("2001:db8::12"))),
                List.of(InetAddress.getByName("198.51.100.53"), InetAddress.getByName("2001:db8::53")));
        return pinned(plan.forFamily(family));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"bridge-nft-ipv4.save", "bridge-legacy-ipv4.save", "bridge-nft-ipv6.save", "bridge-legacy-ipv6.save"})
    void theRealReadBackOfWhatWasRenderedVerifies(String name) throws Exception {
        Family family = name.contains("ipv6") ? Family.IPV6 : Family.IPV4;
        assertThat(verifier.mismatch(bridge(family), parser.parse(fixture(name)))).isEmpty();
    }

    @Test
    void theOtherFamilysRulesDoNotVerify() throws Exception {
        assertThat(verifier.mismatch(bridge(Family.IPV6), parser.parse(fixture("bridge-nft-ipv4.save"))))
                .hasValueSatisfying(m -> assertThat(m).startsWith("ipv6: NETFENCE-OUT rule 1 differs: expected [-A NETFENCE-OUT ! -s ::/128 "));
    }

    @Test
    void aRuleFromAnotherPlanIsReportedWithBothLines() throws Exception {
        FilterState real = parser.parse(fixture("bridge-nft-ipv4.save"));
        List<String> out = new ArrayList<>(real.ownedRules(Direction.OUT));
        out.set(4, out.get(4).replace("--dport 443", "--dport 444"));
        FilterState doctored = with(real, "NETFENCE-OUT", out);
        assertThat(out.get(4)).contains("--dport 444");
        assertThat(verifier.mismatch(bridge(Family.IPV4), doctored)).contains("ipv4: NETFENCE-OUT rule 5 differs: expected ["
                + real.ownedRules(Direction.OUT).get(4) + "] but found [" + out.get(4) + "]");
    }

    @Test
    void missingAndExtraRulesAreReported() throws Exception {
        FilterState real = parser.parse(fixture("bridge-legacy-ipv4.save"));
        List<String> shorter = real.ownedRules(Direction.IN).subList(0, 2);
        assertThat(verifier.mismatch(bridge(Family.IPV4), with(real, "NETFENCE-IN", shorter)))
                .hasValueSatisfying(m -> assertThat(m).startsWith("ipv4: NETFENCE-IN has 2 rules, expected 9; missing rule 3: -A NETFENCE-IN"));
        List<String> longer = new ArrayList<>(real.ownedRules(Direction.IN));
        longer.add("-A NETFENCE-IN -j ACCEPT");
        assertThat(verifier.mismatch(bridge(Family.IPV4), with(real, "NETFENCE-IN", longer)))
                .contains("ipv4: NETFENCE-IN has 10 rules, expected 9; unexpected rule 10: -A NETFENCE-IN -j ACCEPT");
        assertThat(verifier.mismatch(bridge(Family.IPV4), with(real, "NETFENCE-FWD", List.of())))
                .hasValueSatisfying(m -> assertThat(m).startsWith("ipv4: NETFENCE-FWD has 0 rules, expected 1; missing rule 1: -A NETFENCE-FWD"));
        assertThat(verifier.mismatch(bridge(Family.IPV4), with(real, "NETFENCE-FWD",
                List.of("-A NETFENCE-FWD -m comment --comment \"netfence:0123456789ab\" -j ACCEPT"))))
                .hasValueSatisfying(m -> assertThat(m).startsWith("ipv4: NETFENCE-FWD rule 1 differs"));
    }

    @Test
    void missingChainsAndMissingMovedOrDuplicatedHooksAreMismatches() throws Exception {
        RuleSet expected = bridge(Family.IPV4);
        FilterState real = parser.parse(fixture("bridge-nft-ipv4.save"));
        assertThat(verifier.mismatch(expected, FilterState.empty())).contains("ipv4: chain NETFENCE-OUT is missing");
        Set<String> withoutFwd = new java.util.HashSet<>(real.ownedChains());
        withoutFwd.remove("NETFENCE-FWD");
        assertThat(verifier.mismatch(expected, new FilterState(withoutFwd, real.rules())))
                .contains("ipv4: chain NETFENCE-FWD is missing");
        assertThat(verifier.mismatch(expected, with(real, "OUTPUT", List.of())))
                .contains("ipv4: OUTPUT has no jump to netfence's chain");
        assertThat(verifier.mismatch(expected, with(real, "OUTPUT", List.of("-A OUTPUT -j ACCEPT", "-A OUTPUT -j NETFENCE-OUT"))))
                .contains("ipv4: OUTPUT jump to netfence's chain is not the first rule (first is [-A OUTPUT -j ACCEPT])");
        assertThat(verifier.mismatch(expected, with(real, "INPUT", List.of("-A INPUT -j NETFENCE-IN", "-A INPUT -j NETFENCE-IN"))))
                .contains("ipv4: INPUT jumps to netfence's chain 2 times");
        assertThat(verifier.mismatch(expected, with(real, "FORWARD", List.of("-A FORWARD -j ACCEPT"))))
                .contains("ipv4: FORWARD has no jump to netfence's chain");
    }

    @Test
    void hookProblemsAloneAreHookMismatchesAndNotChainMismatches() throws Exception {
        RuleSet expected = bridge(Family.IPV4);
        FilterState real = parser.parse(fixture("bridge-nft-ipv4.save"));
        FilterState pushedDown = with(real, "OUTPUT", List.of("-A OUTPUT -j ACCEPT", "-A OUTPUT -j NETFENCE-OUT"));

        assertThat(verifier.chainMismatch(expected, pushedDown)).isEmpty();
        assertThat(verifier.hookMismatch(Family.IPV4, pushedDown))
                .contains("ipv4: OUTPUT jump to netfence's chain is not the first rule (first is [-A OUTPUT -j ACCEPT])");
        assertThat(verifier.hookMismatch(Family.IPV4, real)).isEmpty();
    }

    @Test
    void differingChainsAreChainMismatchesWhateverTheHooks() throws Exception {
        FilterState real = parser.parse(fixture("bridge-nft-ipv4.save"));

        assertThat(verifier.chainMismatch(bridge(Family.IPV6), real))
                .hasValueSatisfying(m -> assertThat(m).startsWith("ipv6: NETFENCE-OUT rule 1 differs"));
        assertThat(verifier.chainMismatch(bridge(Family.IPV4), FilterState.empty()))
                .contains("ipv4: chain NETFENCE-OUT is missing");
        assertThat(verifier.hookMismatch(Family.IPV4, FilterState.empty()))
                .contains("ipv4: OUTPUT has no jump to netfence's chain");
    }

    @Test
    void rulesOfAnEarlierPlanWithAnotherDigestDoNotVerify() throws Exception {
        RuleSet real = bridge(Family.IPV4);
        RuleSet otherDigest = new RuleSet(real.family(), real.output(), real.input(), real.forward(), "sha256:" + "f".repeat(64));
        assertThat(verifier.mismatch(otherDigest, parser.parse(fixture("bridge-nft-ipv4.save")))).isPresent();
    }

    /** {@code state} with the rules of {@code chain} replaced by {@code lines}. */
    private static FilterState with(FilterState state, String chain, List<String> lines) {
        Map<String, List<String>> rules = new java.util.HashMap<>(state.rules());
        rules.put(chain, lines);
        return new FilterState(state.ownedChains(), rules);
    }
}
