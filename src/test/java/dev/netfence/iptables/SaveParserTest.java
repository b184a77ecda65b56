package dev.netfence.iptables;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * Fixtures are real {@code iptables-save} output captured from iptables 1.8.9 (nft and legacy,
 * both families) after restoring the bridge example's rules into a namespace that already had a
 * foreign OUTPUT rule (IPv6 recaptured when neighbour discovery gained its hop-limit and destination matches, when the MLD query left NETFENCE-OUT, and when the example's IPv4-only blocked list gained the default IPv6 ranges).
 */
class SaveParserTest {
    private final SaveParser parser = new SaveParser();

    static String fixture(String name) throws IOException {
        try (InputStream in = SaveParserTest.class.getResourceAsStream(name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"bridge-nft-ipv4.save", "bridge-legacy-ipv4.save", "bridge-nft-ipv6.save", "bridge-legacy-ipv6.save"})
    void realSaveOutputYieldsTheOwnedChainsAndTheHooks(String name) throws IOException {
        FilterState state = parser.parse(fixture(name));
        boolean v6 = name.contains("ipv6");
        assertThat(state.outChainExists()).isTrue();
        assertThat(state.inChainExists()).isTrue();
        assertThat(state.outRules()).hasSize(v6 ? 22 : 16).allSatisfy(l -> assertThat(l).startsWith("-A NETFENCE-OUT "));
        assertThat(state.inRules()).hasSize(v6 ? 10 : 4).allSatisfy(l -> assertThat(l).startsWith("-A NETFENCE-IN "));
        assertThat(state.outRules().get(0)).isEqualTo("-A NETFENCE-OUT " + (v6 ? "! -s ::/128" : "! -s 0.0.0.0/32")
                + " -m addrtype ! --src-type LOCAL -m comment --comment \"netfence:0123456789ab\" -j DROP");
        assertThat(state.outRules().get(v6 ? 1 : 2)).isEqualTo("-A NETFENCE-OUT -o lo -m comment --comment \"netfence:0123456789ab\" -j ACCEPT");
        if (v6) {
            assertThat(state.outputRules()).containsExactly("-A OUTPUT -j NETFENCE-OUT");
        } else { // the foreign rule that was there first stays, below the hook
            assertThat(state.outputRules()).containsExactly("-A OUTPUT -j NETFENCE-OUT", "-A OUTPUT -d 198.18.0.1/32 -j ACCEPT");
        }
        assertThat(state.outputHooked()).isTrue();
        assertThat(state.outputHookFirst()).isTrue();
        assertThat(state.inputHookFirst()).isTrue();
        assertThat(state.inputHookCount()).isEqualTo(1);
    }

    @Test
    void outputWithoutAFilterTableIsAnUntouchedNamespace() {
        assertThat(parser.parse("")).isEqualTo(FilterState.empty());
        assertThat(parser.parse("# Warning: iptables-legacy tables present, use iptables-legacy-save to see them\n"))
                .isEqualTo(FilterState.empty());
    }

    @Test
    void otherTablesAndOtherChainsAreIgnored() {
        String save = """
                *nat
                :OUTPUT ACCEPT [0:0]
                :DOCKER_OUTPUT - [0:0]
                -A OUTPUT -d 127.0.0.11/32 -j DOCKER_OUTPUT
                -A NETFENCE-OUT -j ACCEPT
                COMMIT
                *filter
                :INPUT ACCEPT [0:0]
                :OUTPUT ACCEPT [0:0]
                :DOCKER - [0:0]
                -A OUTPUT -j DOCKER
                -A DOCKER -j RETURN
                COMMIT
                """;
        FilterState state = parser.parse(save);
        assertThat(state.outChainExists()).isFalse();
        assertThat(state.outRules()).isEmpty();
        assertThat(state.outputRules()).containsExactly("-A OUTPUT -j DOCKER");
        assertThat(state.outputHooked()).isFalse();
        assertThat(state.inputRules()).isEmpty();
    }

    @Test
    void aHookBelowAnotherRuleIsSeenAsNotFirst() {
        FilterState state = parser.parse("*filter\n:OUTPUT ACCEPT [0:0]\n:NETFENCE-OUT - [0:0]\n"
                + "-A OUTPUT -j ACCEPT\n-A OUTPUT -j NETFENCE-OUT\r\nCOMMIT\n");
        assertThat(state.outputHooked()).isTrue();
        assertThat(state.outputHookFirst()).isFalse();
        assertThat(state.outChainExists()).isTrue();
        assertThat(state.inChainExists()).isFalse();
    }
}
