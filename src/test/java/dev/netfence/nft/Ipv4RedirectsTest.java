package dev.netfence.nft;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * What {@link Ipv4Redirects} reads from a namespace's {@code net/snmp}: its {@code Icmp:} lines as
 * 6.18 prints them (names, then numbers), with the redirects the namespace took in the eighth
 * column; anything it cannot read counts as a redirect taken, so the route cache is flushed.
 */
class Ipv4RedirectsTest {
    private static final String IP = "Ip: Forwarding DefaultTTL InReceives\nIp: 2 64 12\n";
    private static final String NAMES = "Icmp: InMsgs InErrors InCsumErrors InDestUnreachs InTimeExcds InParmProbs"
            + " InSrcQuenchs InRedirects InEchos InEchoReps OutMsgs";
    private static final String MSG = "IcmpMsg: InType3 OutType3\nIcmpMsg: 4 4\nTcp: RtoAlgorithm\nTcp: 1\n";

    @ParameterizedTest(name = "{0}: heard {2}")
    @CsvSource(delimiter = '|', textBlock = """
            no redirect taken                          | Icmp: 9 1 0 9 0 0 0 0 0 0 771     | false
            one redirect taken                         | Icmp: 9 1 0 3 0 0 0 1 0 0 771     | true
            many taken                                 | Icmp: 900 0 0 3 0 0 0 4123 0 0 9  | true
            numbers line cut before the column         | Icmp: 9 1 0 9                     | true
            a column that is no number                 | Icmp: 9 1 0 9 0 0 0 x 0 0 771     | true
            no numbers line                            | -                                 | true
            """)
    void aNamespaceHeardARedirectWhereItsIcmpCountersSaySoOrCannotBeRead(String what, String numbers,
            boolean heard) {
        String snmp = IP + NAMES + "\n" + (numbers.equals("-") ? "" : numbers + "\n") + MSG;

        assertThat(Ipv4Redirects.heard(snmp)).as(what).isEqualTo(heard);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            no Icmp lines at all             | Ip: Forwarding\\nIp: 2\\n
            names without InRedirects        | Icmp: InMsgs InErrors\\nIcmp: 0 0\\n
            empty                            | ''
            """)
    void aListingWithoutTheCounterCountsAsARedirectTaken(String what, String snmp) {
        assertThat(Ipv4Redirects.heard(snmp.replace("\\n", "\n"))).as(what).isTrue();
    }

    @org.junit.jupiter.api.Test
    void thisKernelsOwnListingParsesAndCountsWhatItSays() throws Exception {
        String text = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/self/net/snmp"));
        String[] lines = text.split("\n");
        int names = java.util.Arrays.asList(lines).indexOf(java.util.Arrays.stream(lines)
                .filter(l -> l.startsWith("Icmp: In")).findFirst().orElseThrow());
        int column = java.util.Arrays.asList(lines[names].split(" ")).indexOf("InRedirects");
        boolean taken = !lines[names + 1].split(" ")[column].equals("0");

        assertThat(column).isPositive();
        assertThat(Ipv4Redirects.heard(text)).isEqualTo(taken);
    }
}
