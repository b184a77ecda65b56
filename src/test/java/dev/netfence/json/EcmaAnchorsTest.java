package dev.netfence.json;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Schema patterns' end anchors as ECMA-262 reads them: the end of the value, not before a final line break. */
class EcmaAnchorsTest {
    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiterString = " => ", value = {
        "^[a-z]+$ => ^[a-z]+\\z",
        "^(/run/netns/[A-Za-z0-9]+|/proc/[1-9][0-9]{0,6}/ns/net)$ => ^(/run/netns/[A-Za-z0-9]+|/proc/[1-9][0-9]{0,6}/ns/net)\\z",
        "^a\\$b$ => ^a\\$b\\z",
        "^[$a]+$ => ^[$a]+\\z",
        "^[\\]$]$ => ^[\\]$]\\z",
        "^a$|b$ => ^a\\z|b\\z",
        "^abc => ^abc",
    })
    void everyEndAnchorBecomesTheEndOfInputAndNothingElseChanges(String schemaPattern, String javaPattern) {
        assertThat(EcmaAnchors.strictEnds(schemaPattern)).isEqualTo(javaPattern);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "abc, true",
        "'abc\n', false",
        "'abc\r\n', false",
        "'abc\u2028', false",
        "'ab\nc', false",
    })
    void aValueWithATrailingLineBreakDoesNotMatch(String value, boolean matches) {
        assertThat(EcmaAnchors.INSTANCE.getRegularExpression("^[a-z]+$").matches(value)).isEqualTo(matches);
    }
}
