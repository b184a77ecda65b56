package dev.netfence.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class IpAddressesTest {

    /** Expected forms are what glibc inet_ntop (and so iptables-save) prints. */
    @ParameterizedTest(name = "{0} prints as {1}")
    @CsvSource({
        "2001:0db8:0000:0000:0000:0000:0000:0002, 2001:db8::2",
        "::, ::",
        "::1, ::1",
        "1::, 1::",
        "2001:db8:0:1:0:0:0:0, 2001:db8:0:1::",
        "2001:db8:0:0:1:0:0:1, 2001:db8::1:0:0:1",
        "2001:0:0:1:0:0:0:1, 2001:0:0:1::1",
        "1:0:2:3:4:5:6:7, 1:0:2:3:4:5:6:7",
        "::102:304, ::1.2.3.4",
        "::ffff:102:304, ::ffff:1.2.3.4",
        "::ffff:0:1, ::ffff:0.0.0.1",
        "::1:0:0, ::1:0:0",
        "FE80::1, fe80::1",
        "fc00::, fc00::",
    })
    void ipv6AddressesPrintLikeInetNtop(String input, String expected) {
        assertThat(IpAddresses.format(IpAddresses.parseIpv6(input))).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0} is not an IPv6 literal")
    @ValueSource(strings = {"", ":", ":::", "1:::2", "1::2::3", ":1::", "1::2:", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7",
        "12345::", "g::", "::1.2.3", "::1.2.3.4.5", "1.2.3.4::", "fe80::1%eth0", "[::1]", " ::1", "::٣"})
    void malformedIpv6LiteralsAreRefused(String input) {
        assertThat(IpAddresses.parseIpv6(input)).isNull();
    }

    @ParameterizedTest(name = "{0} is not an IPv4 literal")
    @ValueSource(strings = {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.1.1.1", "1..1.1", "a.b.c.d", "1.2.3.4 ", "٣.1.1.1", "0x1.1.1.1"})
    void malformedIpv4LiteralsAreRefused(String input) {
        assertThat(IpAddresses.parseIpv4(input)).isNull();
    }

    @Property(tries = 500)
    void everyIpv6AddressRoundTripsThroughItsCanonicalText(@ForAll @Size(16) byte[] bytes) throws Exception {
        String text = IpAddresses.format(bytes);
        assertThat(IpAddresses.parseIpv6(text)).isEqualTo(bytes);
        assertThat(text).matches("[0-9a-f:.]+");
        // the JDK agrees on the address (a literal: no DNS involved)
        assertThat(InetAddress.getByName(text).getAddress()).isIn(bytes, java.util.Arrays.copyOfRange(bytes, 12, 16));
    }

    @Property(tries = 200)
    void everyIpv4AddressRoundTripsThroughItsCanonicalText(@ForAll @Size(4) byte[] bytes) {
        assertThat(IpAddresses.parseIpv4(IpAddresses.format(bytes))).isEqualTo(bytes);
    }
}
