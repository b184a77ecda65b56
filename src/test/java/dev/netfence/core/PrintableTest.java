package dev.netfence.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** What an operator's terminal or a log line gets of text a workload chose. */
class PrintableTest {
    static Stream<Arguments> table() {
        return Stream.of(
                Arguments.of("eth0", "eth0"),
                Arguments.of("", ""),
                Arguments.of(null, "null"),
                Arguments.of("a\\b", "a\\x5cb"),
                Arguments.of("tab\there", "tab\\x09here"),
                Arguments.of("new\r\nline", "new\\x0d\\x0aline"),
                Arguments.of("\u001b[2J", "\\x1b[2J"),
                Arguments.of("caf\u00e9", "caf\\xe9"),
                Arguments.of("\u202eevil", "\\u202eevil"),
                Arguments.of("del\u007f", "del\\x7f"));
    }

    @ParameterizedTest(name = "[{index}] -> {1}")
    @MethodSource("table")
    void escapesEverythingButPrintableAscii(String text, String shown) {
        assertThat(Printable.escape(text)).isEqualTo(shown);
    }
}
