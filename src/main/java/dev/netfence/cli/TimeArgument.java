package dev.netfence.cli;

import dev.netfence.app.Durations;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Parses the TIME arguments of the ops commands ({@code --since}, {@code --from}, {@code --to})
 * into instants: an RFC 3339 timestamp ({@code 2026-11-28T15:00:00Z},
 * {@code 2026-11-28 16:00:00.5+01:00}), a UTC date ({@code 2026-11-28}, midnight), {@code now},
 * or a duration before now ({@code -15m}, {@code 15m}, {@code 1h30m}, {@code 2d}, {@code 500ms}).
 * The duration is read by the one duration parser ({@link Durations#parseSum}). "Now" comes
 * from the injected clock so tests are exact.
 */
public final class TimeArgument {

    private static final Pattern DATE = Pattern.compile("\\d{4}-\\d{2}-\\d{2}");

    private TimeArgument() {
    }

    /**
     * @throws IllegalArgumentException with the accepted forms in the message when unreadable
     */
    public static Instant parse(String text, Clock clock) {
        String value = text == null ? "" : text.trim();
        if (value.equalsIgnoreCase("now")) {
            return clock.instant();
        }
        Duration ago = ago(value);
        if (ago != null) {
            return clock.instant().minus(ago);
        }
        if (DATE.matcher(value).matches()) {
            try {
                return LocalDate.parse(value).atStartOfDay(ZoneOffset.UTC).toInstant();
            } catch (DateTimeParseException e) {
                throw unreadable(text);
            }
        }
        String normalized = value.toUpperCase(Locale.ROOT);
        if (normalized.length() > 10 && normalized.charAt(10) == ' ') {
            normalized = normalized.substring(0, 10) + 'T' + normalized.substring(11);
        }
        try {
            return OffsetDateTime.parse(normalized, DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant();
        } catch (DateTimeParseException e) {
            throw unreadable(text);
        }
    }

    /** {@code -15m} or {@code 15m} (one optional minus, then {@link Durations#parseSum}), else null. */
    private static Duration ago(String value) {
        try {
            return Durations.parseSum(value.startsWith("-") ? value.substring(1) : value);
        } catch (IllegalArgumentException notADuration) {
            return null;
        }
    }

    private static IllegalArgumentException unreadable(String text) {
        return new IllegalArgumentException("cannot read time '" + text + "': expected RFC 3339 "
                + "(2026-11-28T15:00:00Z), a date (2026-11-28), 'now' or a duration ago (-15m, 2h, 1d)");
    }
}
