package dev.netfence.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class TimeArgumentTest {

    private final Clock clock = Clock.fixed(Instant.parse("2026-11-28T15:00:00Z"), ZoneOffset.UTC);

    @ParameterizedTest(name = "{0} is {1}")
    @CsvSource({
            "2026-11-28T14:00:00Z,          2026-11-28T14:00:00Z",
            "2026-11-28T14:00:00.123Z,      2026-11-28T14:00:00.123Z",
            "2026-11-28t16:00:00+02:00,     2026-11-28T14:00:00Z",
            "2026-11-28 14:00:00z,          2026-11-28T14:00:00Z",
            "2026-11-28T09:30:00-04:30,     2026-11-28T14:00:00Z",
            "2026-11-27,                    2026-11-27T00:00:00Z",
            "now,                           2026-11-28T15:00:00Z",
            "-15m,                          2026-11-28T14:45:00Z",
            "15m,                           2026-11-28T14:45:00Z",
            "-1h30m,                        2026-11-28T13:30:00Z",
            "2d,                            2026-11-26T15:00:00Z",
            "-90s,                          2026-11-28T14:58:30Z",
            "-250ms,                        2026-11-28T14:59:59.750Z",
            "1d2h3m4s5ms,                   2026-11-27T12:56:55.995Z",
    })
    void acceptsRfc3339DatesNowAndDurationsAgo(String text, String expected) {
        assertThat(TimeArgument.parse(text, clock)).isEqualTo(Instant.parse(expected));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "yesterday", "2026-11-28T14:00:00", "2026-13-01", "-15", "15x", "+15m", "--15m", "15M", "-", "1h-30m",
            "99999999999999999999d"})
    void rejectsAnythingElseNamingTheAcceptedForms(String text) {
        assertThatThrownBy(() -> TimeArgument.parse(text, clock))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("cannot read time '" + text + "': expected RFC 3339 (2026-11-28T15:00:00Z), "
                        + "a date (2026-11-28), 'now' or a duration ago (-15m, 2h, 1d)");
    }
}
