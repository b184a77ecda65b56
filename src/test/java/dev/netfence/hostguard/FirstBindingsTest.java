package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.hostguard.HostSides.Binding;
import java.util.List;
import org.junit.jupiter.api.Test;

class FirstBindingsTest {
    private static final GuardChain CHAIN = new GuardChain("veth1", 11, "c1");
    private static final Binding FIRST = new Binding("0a:00:00:00:00:01", List.of("10.88.0.5"), List.of("fe80::1"));

    @Test
    void theFirstReadIsBoundAsItIsAndRemembered() {
        FirstBindings first = new FirstBindings();
        assertThat(first.narrow(CHAIN, FIRST)).isEqualTo(FIRST);
        assertThat(first.size()).isEqualTo(1);
    }

    @Test
    void aLaterReadKeepsTheFirstMacAndOnlyTheFirstIpv4AddressesButFollowsIpv6() {
        FirstBindings first = new FirstBindings();
        first.narrow(CHAIN, FIRST);
        // a neighbour's address and MAC claimed, an autoconfigured IPv6 address gained
        Binding later = new Binding("0a:00:00:00:00:99", List.of("10.88.0.5", "10.88.0.7"),
                List.of("fe80::1", "2001:db8::5"));

        assertThat(first.narrow(CHAIN, later))
                .isEqualTo(new Binding("0a:00:00:00:00:01", List.of("10.88.0.5"), List.of("fe80::1", "2001:db8::5")));
    }

    @Test
    void anAddressLostIsNotBoundAndOneRegainedIsAgain() {
        FirstBindings first = new FirstBindings();
        first.narrow(CHAIN, FIRST);
        Binding lost = new Binding("0a:00:00:00:00:01", List.of(), List.of("fe80::1"));

        assertThat(first.narrow(CHAIN, lost).ipv4()).isEmpty();
        assertThat(first.narrow(CHAIN, FIRST)).isEqualTo(FIRST);
    }

    @Test
    void nothingReadIsNothingRememberedAndAnotherChainOrAForgottenOneStartsAfresh() {
        FirstBindings first = new FirstBindings();
        assertThat(first.narrow(CHAIN, null)).isNull();
        assertThat(first.size()).isZero();

        first.narrow(CHAIN, FIRST);
        Binding other = new Binding("0a:00:00:00:00:02", List.of("10.88.0.6"), List.of());
        GuardChain recreated = new GuardChain("veth1", 12, "c1"); // the same name, another interface
        assertThat(first.narrow(recreated, other)).isEqualTo(other);

        first.forget(c -> c.ifindex() == 11);
        assertThat(first.narrow(CHAIN, other)).isEqualTo(other);
    }
}
