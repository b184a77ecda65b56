package dev.netfence.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class DurationsTest {
    @ParameterizedTest
    @CsvSource({"500ms,PT0.5S", "30s,PT30S", "2m,PT2M", "1h,PT1H", "PT45S,PT45S", "PT1M30S,PT1M30S", "pt2m,PT2M",
        "30S,PT30S", " 5s ,PT5S", "0s,PT0S", "-5s,PT-5S", "-PT1S,PT-1S", "P1D,PT24H"})
    void shortAndIsoFormsAreRead(String text, String iso) {
        assertThat(Durations.parse(text)).isEqualTo(Duration.parse(iso));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "5", "30", "5 s", "5d", "5x", "abc", "1.5s", "99999999999999999999s"})
    void otherFormsAreRefused(String text) {
        assertThatThrownBy(() -> Durations.parse(text)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("not a duration: " + text);
    }

    @ParameterizedTest
    @CsvSource({"1h30m,PT1H30M", "2d,PT48H", "500ms,PT0.5S", "1d2h3m4s5ms,PT26H3M4.005S", "007s,PT7S"})
    void aSumOfUnitPartsIsRead(String text, String iso) {
        assertThat(Durations.parseSum(text)).isEqualTo(Duration.parse(iso));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "-5m", "+5m", "5", "5M", "PT5S", "1h 30m", "99999999999999999999d", "106751991167301d"})
    void aSumRefusesSignsOtherCaseIsoAndOverflow(String text) {
        assertThatThrownBy(() -> Durations.parseSum(text)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("not a duration: " + text);
    }
}
