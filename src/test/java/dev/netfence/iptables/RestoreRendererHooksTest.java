package dev.netfence.iptables;

import static dev.netfence.iptables.RestoreRendererTest.C;
import static dev.netfence.iptables.RestoreRendererTest.pinned;
import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.policy.Family;
import dev.netfence.rules.RulePlanner;
import dev.netfence.rules.RuleSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Hook handling: asked for, not asked for, and repaired against a read-back. */
class RestoreRendererHooksTest {
    private final RestoreRenderer renderer = new RestoreRenderer();
    private final RuleSet quarantine4 = pinned(new RulePlanner().quarantine().forFamily(Family.IPV4));
    private final String body = ("""
            *filter
            :NETFENCE-OUT - [0:0]
            :NETFENCE-IN - [0:0]
            :NETFENCE-FWD - [0:0]
            -F NETFENCE-OUT
            -F NETFENCE-IN
            -F NETFENCE-FWD
            -A NETFENCE-OUT -d 127.0.0.11/32{c} -j REJECT --reject-with icmp-port-unreachable
            -A NETFENCE-OUT -o lo -m addrtype --dst-type LOCAL,BROADCAST,MULTICAST{c} -j ACCEPT
            -A NETFENCE-OUT{c} -j REJECT --reject-with icmp-port-unreachable
            -A NETFENCE-IN -d 127.0.0.11/32{c} -j DROP
            -A NETFENCE-IN -i lo{c} -j ACCEPT
            -A NETFENCE-IN{c} -j DROP
            -A NETFENCE-FWD{c} -j DROP
            """).replace("{c}", C);

    @Test
    void withoutHooksOnlyTheOwnedChainsAreRewritten() {
        assertThat(renderer.render(quarantine4, false)).isEqualTo(body + "COMMIT\n");
    }

    @Test
    void theHooksAreInsertedWhenAskedFor() {
        assertThat(renderer.render(quarantine4, true)).isEqualTo(body
                + "-I OUTPUT 1 -j NETFENCE-OUT\n-I INPUT 1 -j NETFENCE-IN\n-I FORWARD 1 -j NETFENCE-FWD\nCOMMIT\n");
    }

    @Test
    void againstAnUntouchedNamespaceAllThreeHooksAreInserted() {
        assertThat(renderer.render(quarantine4, FilterState.empty())).isEqualTo(renderer.render(quarantine4, true));
    }

    @Test
    void hooksAlreadyOnTopAreLeftAlone() {
        FilterState state = new FilterState(Set.of(), Map.of(
                "OUTPUT", List.of("-A OUTPUT -j NETFENCE-OUT", "-A OUTPUT -j DOCKER"),
                "INPUT", List.of("-A INPUT -j NETFENCE-IN"),
                "FORWARD", List.of("-A FORWARD -j NETFENCE-FWD", "-A FORWARD -j ACCEPT")));
        assertThat(renderer.render(quarantine4, state)).isEqualTo(body + "COMMIT\n");
    }

    @Test
    void aHookPushedDownDuplicatedOrMissingIsPutBackOnTop() {
        FilterState state = new FilterState(Set.of(), Map.of(
                "OUTPUT", List.of("-A OUTPUT -j ACCEPT", "-A OUTPUT -j NETFENCE-OUT"),
                "INPUT", List.of("-A INPUT -j NETFENCE-IN", "-A INPUT -j NETFENCE-IN"),
                "FORWARD", List.of("-A FORWARD -j ACCEPT")));
        assertThat(renderer.render(quarantine4, state)).isEqualTo(body
                + "-D OUTPUT -j NETFENCE-OUT\n-I OUTPUT 1 -j NETFENCE-OUT\n"
                + "-D INPUT -j NETFENCE-IN\n-D INPUT -j NETFENCE-IN\n-I INPUT 1 -j NETFENCE-IN\n"
                + "-I FORWARD 1 -j NETFENCE-FWD\nCOMMIT\n");
    }

    @Test
    void theCommentCarriesTheFirstTwelveHexDigitsOfThePlanDigest() {
        RuleSet real = new RulePlanner().quarantine().forFamily(Family.IPV6);
        assertThat(RestoreRenderer.comment(real)).isEqualTo("netfence:" + real.digest().substring(7, 19));
        assertThat(renderer.lines(real, dev.netfence.rules.Direction.OUT)).allSatisfy(l -> assertThat(l).contains("--comment \"" + RestoreRenderer.comment(real) + "\""));
    }
}
