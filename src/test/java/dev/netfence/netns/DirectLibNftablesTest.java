package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Which commands run alone in the process ({@link DirectLibNftables#lists}): those that print
 * what the kernel holds (or may: commands from elsewhere, JSON input), and only those, so
 * netfence's own scripts keep running side by side.
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
            get element inet netfence s { 198.18.0.1 }                              | true
            add table inet x; include "/etc/nftables.d/*.nft"                       | true
            import ruleset json                                                     | true
            '{"nftables": [{"list": {"ruleset": null}}]}'                           | true
            '  [{"list": {"tables": null}}]'                                        | true
            add table inet netfence                                                 | false
            'table inet netfence {\\n chain input {\\n ip6 daddr ff02::/16 icmpv6 type mld-listener-query accept\\n }\\n}' | false
            add rule inet netfence input comment "list"                             | false
            delete table inet netfence; add table inet netfence                     | false
            listing                                                                 | false
            getter                                                                  | false
            ''                                                                      | false
            """)
    void aCommandRunsAloneExactlyWhenItMayPrintWhatTheKernelHolds(String commands, boolean alone) {
        assertThat(DirectLibNftables.lists(commands.replace("\\n", "\n"))).isEqualTo(alone);
    }
}
