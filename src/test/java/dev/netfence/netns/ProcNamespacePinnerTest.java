package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** What of a workload-chosen cgroup name reaches an error message. */
class ProcNamespacePinnerTest {
    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
        "0::/machine.slice/libpod-abc.scope|0::/machine.slice/libpod-abc.scope",
        "0::/a\u001b[2Jb|0::/a\\x1b[2Jb",
        "0::/tab\there|0::/tab\\x09here",
        "0::/back\\slash|0::/back\\x5cslash",
        "0::/caf\u00e9|0::/caf\\xe9",
    })
    void bytesOutsidePrintableAsciiAndTheBackslashAreEscaped(String cgroup, String printed) {
        assertThat(ProcNamespacePinner.printable(cgroup)).isEqualTo(printed);
    }
}
