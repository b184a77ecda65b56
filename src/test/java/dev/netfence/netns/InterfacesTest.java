package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The lo-only check's reading of a {@code net/dev} text (issue 12 item 7). */
class InterfacesTest {
    @Test
    void theLoopbackCheckReadsInterfaceNamesAfterTheTwoHeaderLines() {
        String header = "Inter-|   Receive\n face |bytes\n";
        assertThat(Interfaces.onlyLoopback(header + "    lo: 0 0 0\n")).isTrue();
        assertThat(Interfaces.onlyLoopback(header)).isTrue();
        assertThat(Interfaces.onlyLoopback(header + "    lo: 0 0 0\n  eth0: 0 0 0\n")).isFalse();
        assertThat(Interfaces.onlyLoopback(header + "v1: 0\n    lo: 0 0 0")).isFalse();
        assertThat(Interfaces.onlyLoopback(header + "    lo: 0 0 0\n  et")).as("a cut-off line names nothing")
                .isTrue();
    }
}
