package dev.netfence.iptables;

import static dev.netfence.iptables.RestoreRendererTest.C;
import static dev.netfence.iptables.RestoreRendererTest.pinned;
import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.policy.Family;
import dev.netfence.rules.RulePlanner;
import dev.netfence.rules.RuleSet;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Hook handling: asked for, not asked for, and repaired against a read-back. */
class RestoreRendererHooksTest {
    private final RestoreRenderer renderer = new RestoreRenderer();
    private final RuleSet quarantine4 = pinned(new RulePlanner().quarantine().forFamily(Family.IPV4));
    private final String body = ("""
            *filter
            :NETFENCE-OUT - [0:0]
            :NETFENCE-IN - [0:0]
            -F NETFENCE-OUT
            -F NETFENCE-IN
            -A NETFENCE-OUT -d 127.0.0.11/32{c} -j REJECT --reject-with icmp-port-unreachable
            -A NETFENCE-OUT -o lo -m addrtype --dst-type LOCAL,BROADCAST,MULTICAST{c} -j ACCEPT
            -A NETFENCE-OUT{c} -j REJECT --reject-with icmp-port-unreachable
            -A NETFENCE-IN -d 127.0.0.11/32{c} -j DROP
            -A NETFENCE-IN -i lo{c} -j ACCEPT
            -A NETFENCE-IN{c} -j DROP
            """).replace("{c}", C);

    @Test
    void withoutHooksOnlyTheOwnedChainsAreRewritten() {
        assertThat(renderer.render(quarantine4, false, false)).isEqualTo(body + "COMMIT\n");
    }

    @Test
    void eachHookIsInsertedOnlyWhenAskedFor() {
        assertThat(renderer.render(quarantine4, true, false)).isEqualTo(body + "-I OUTPUT 1 -j NETFENCE-OUT\nCOMMIT\n");
        assertThat(renderer.render(quarantine4, false, true)).isEqualTo(body + "-I INPUT 1 -j NETFENCE-IN\nCOMMIT\n");
    }

    @Test
    void againstAnUntouchedNamespaceBothHooksAreInserted() {
        assertThat(renderer.render(quarantine4, FilterState.empty()))
                .isEqualTo(body + "-I OUTPUT 1 -j NETFENCE-OUT\n-I INPUT 1 -j NETFENCE-IN\nCOMMIT\n");
    }

    @Test
    void hooksAlreadyOnTopAreLeftAlone() {
        FilterState state = new FilterState(true, true, List.of(), List.of(),
                List.of("-A OUTPUT -j NETFENCE-OUT", "-A OUTPUT -j DOCKER"), List.of("-A INPUT -j NETFENCE-IN"));
        assertThat(renderer.render(quarantine4, state)).isEqualTo(body + "COMMIT\n");
    }

    @Test
    void aHookPushedDownOrDuplicatedIsMovedBackToTheTop() {
        FilterState state = new FilterState(true, true, List.of(), List.of(),
                List.of("-A OUTPUT -j ACCEPT", "-A OUTPUT -j NETFENCE-OUT"),
                List.of("-A INPUT -j NETFENCE-IN", "-A INPUT -j NETFENCE-IN"));
        assertThat(renderer.render(quarantine4, state)).isEqualTo(body
                + "-D OUTPUT -j NETFENCE-OUT\n-I OUTPUT 1 -j NETFENCE-OUT\n"
                + "-D INPUT -j NETFENCE-IN\n-D INPUT -j NETFENCE-IN\n-I INPUT 1 -j NETFENCE-IN\nCOMMIT\n");
    }

    @Test
    void theCommentCarriesTheFirstTwelveHexDigitsOfThePlanDigest() {
        RuleSet real = new RulePlanner().quarantine().forFamily(Family.IPV6);
        assertThat(RestoreRenderer.comment(real)).isEqualTo("netfence:" + real.digest().substring(7, 19));
        assertThat(renderer.outLines(real)).allSatisfy(l -> assertThat(l).contains("--comment \"" + RestoreRenderer.comment(real) + "\""));
    }
}
