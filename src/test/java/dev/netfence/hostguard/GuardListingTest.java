package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class GuardListingTest {
    private static final String LISTING = """
            table netdev netfence {
            	chain veth1 {
            		comment "netfence container=c1 ifindex=11"
            		type filter hook ingress device "veth1" priority -500; policy drop;
            		ether saddr != 0a:00:00:00:00:01 drop comment "netfence:0123456789ab"
            		meta protocol arp accept comment "netfence:0123456789ab"
            	}
            	chain closed {
            		type filter hook ingress devices = { "a", "b" } priority -500; policy drop;
            	}
            }
            """;

    @Test
    void eachChainIsReadWithItsCommentDevicesAndRuleLinesAsListed() {
        assertThat(GuardListing.parse(LISTING)).containsExactly(
                new GuardListing.Chain("veth1", "netfence container=c1 ifindex=11", List.of("veth1"),
                        List.of("ether saddr != 0a:00:00:00:00:01 drop comment \"netfence:0123456789ab\"",
                                "meta protocol arp accept comment \"netfence:0123456789ab\"")),
                new GuardListing.Chain("closed", null, List.of("a", "b"), List.of()));
    }
}
