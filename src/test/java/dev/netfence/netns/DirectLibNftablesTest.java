package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Which commands run alone in the process ({@link DirectLibNftables#lists}): those that print
 * what the kernel holds, and only those, so netfence's own scripts keep running side by side.
 */
class DirectLibNftablesTest {
    @ParameterizedTest(name = "[{index}] {0} -> {1}")
    @CsvSource(delimiter = '|', textBlock = """
            list ruleset                                                            | true
            list chain inet netfence input                                          | true
            '  list table inet netfence'                                            | true
            add table inet x; list tables                                           | true
            'add table inet x\\nlist tables'                                         | true
            monitor                                                                 | true
            export ruleset                                                          | true
            reset counters                                                          | true
            describe tcp dport                                                      | true
            add table inet netfence                                                 | false
            'table inet netfence {\\n chain input {\\n ip6 daddr ff02::/16 icmpv6 type mld-listener-query accept\\n }\\n}' | false
            add rule inet netfence input comment "list"                             | false
            delete table inet netfence; add table inet netfence                     | false
            listing                                                                 | false
            ''                                                                      | false
            """)
    void aCommandRunsAloneExactlyWhenAStatementStartsWithAPrintingCommand(String commands, boolean alone) {
        assertThat(DirectLibNftables.lists(commands.replace("\\n", "\n"))).isEqualTo(alone);
    }
}
