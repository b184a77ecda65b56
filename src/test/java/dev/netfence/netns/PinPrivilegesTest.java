package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PinPrivilegesTest {
    private static String status(String effective) {
        return "Name:\tjava\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t" + effective
                + "\nCapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\n";
    }

    @ParameterizedTest(name = "CapEff {0}: lacks {1}")
    @CsvSource(delimiter = '|', value = {
        "000001ffffffffff | ",
        "0000000000281000 | ",                              // exactly SYS_ADMIN, SYS_PTRACE, NET_ADMIN
        "0000000000201000 | CAP_SYS_PTRACE",                // docker's default set plus SYS_ADMIN and NET_ADMIN: no ptrace
        "000001fffff7ffff | CAP_SYS_PTRACE",
        "0000000000081000 | CAP_SYS_ADMIN",
        "0000000000280000 | CAP_NET_ADMIN",
        "0000000000000000 | CAP_SYS_ADMIN+CAP_NET_ADMIN+CAP_SYS_PTRACE",
    })
    void theEffectiveSetMustHoldSysAdminNetAdminAndSysPtrace(String effective, String lacking) {
        Optional<String> missing = PinPrivileges.missingIn(status(effective));

        if (lacking == null) {
            assertThat(missing).isEmpty();
        } else {
            assertThat(missing).isPresent();
            for (String cap : lacking.split("\\+")) {
                assertThat(missing.get()).contains(cap + " (");
            }
            for (String cap : new String[] {"CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_SYS_PTRACE"}) {
                if (!lacking.contains(cap)) {
                    assertThat(missing.get()).doesNotContain(cap + " (");
                }
            }
            assertThat(missing.get()).startsWith("netfence lacks ").contains("cap_add SYS_ADMIN, NET_ADMIN, SYS_PTRACE");
        }
    }

    @ParameterizedTest
    @CsvSource({"CapPrm:\t1", "''"})
    void aStatusWithoutAnEffectiveSetIsAnError(String text) {
        assertThatThrownBy(() -> PinPrivileges.missingIn(text)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("no CapEff line in the process status");
    }
}
