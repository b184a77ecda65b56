package dev.netfence.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Whether a list of networks blocks a whole family, as a /0 does: a table of lists and answers. */
class CidrTest {
    @ParameterizedTest(name = "{0}: ipv4 {1}, ipv6 {2}")
    @CsvSource(delimiter = '|', value = {
        "0.0.0.0/0                                    | true  | false",
        "::/0                                         | false | true",
        "0.0.0.0/1 128.0.0.0/1                        | true  | false",
        "128.0.0.0/1 0.0.0.0/2 64.0.0.0/2             | true  | false",
        "0.0.0.0/1 128.0.0.0/2                        | false | false",
        "0.0.0.0/1 0.0.0.0/1 192.0.0.0/2 128.0.0.0/2  | true  | false",
        "10.0.0.0/8 0.0.0.0/0 ::/1 8000::/1           | true  | true",
        "::/1 c000::/2                                | false | false",
        "255.255.255.255/32                           | false | false",
    })
    void aListCoversAFamilyOnlyWhereItLeavesNoGap(String networks, boolean ipv4, boolean ipv6) {
        List<Cidr> list = Arrays.stream(networks.split(" ")).map(c -> PolicyValues.cidr(c).value()).toList();
        assertThat(Cidr.coverFamily(list, Family.IPV4)).isEqualTo(ipv4);
        assertThat(Cidr.coverFamily(list, Family.IPV6)).isEqualTo(ipv6);
    }
}
