package dev.netfence.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.netfence.policy.Family;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The ICMP type field's two transports: each family's ICMP, each in its own family's rule set only. */
class RuleTest {
    private static final String DIGEST = "sha256:" + "0".repeat(64);

    @Test
    void anIcmpTypeNeedsAnIcmpTransport() {
        assertThatThrownBy(() -> new Rule(Direction.IN, Transport.UDP, null, null, false, false, false, 5, null,
                Verdict.DROP)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("icmpType needs transport ICMP or ICMPV6, was: UDP");
        assertThat(Rule.redirectDropped().transport()).isEqualTo(Transport.ICMP);
        assertThat(Rule.redirectDropped().icmpType()).isEqualTo(5);
    }

    @Test
    void theBroadcastRulesAreRefusedInAnIpv6RuleSet() {
        assertThatThrownBy(() -> new RuleSet(Family.IPV6, List.of(Rule.broadcastToOutside()), List.of(), List.of(), DIGEST))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("broadcast rule in an IPV6 rule set: ");
        assertThatThrownBy(() -> new RuleSet(Family.IPV6, List.of(), List.of(Rule.broadcastSourceFromOutside()), List.of(),
                DIGEST)).isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("broadcast rule in an IPV6 rule set: ");
        assertThat(new RuleSet(Family.IPV4, List.of(Rule.broadcastToOutside()), List.of(), List.of(), DIGEST).output())
                .containsExactly(Rule.broadcastToOutside());
    }

    @Test
    void anIpv4IcmpRuleIsRefusedInAnIpv6RuleSetAndAnIcmpv6RuleInAnIpv4One() {
        assertThatThrownBy(() -> new RuleSet(Family.IPV6, List.of(), List.of(Rule.redirectDropped()), List.of(), DIGEST))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("ICMP rule in an IPV6 rule set: ");
        assertThatThrownBy(() -> new RuleSet(Family.IPV4, List.of(), List.of(Rule.routingMessageDropped(137)), List.of(),
                DIGEST)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("ICMPv6 rule in an IPV4 rule set: ");
        assertThat(new RuleSet(Family.IPV4, List.of(), List.of(Rule.redirectDropped()), List.of(), DIGEST).input())
                .containsExactly(Rule.redirectDropped());
    }
}
