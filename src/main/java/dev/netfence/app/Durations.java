package dev.netfence.app;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses the duration values of the {@code run} options: ISO-8601 ({@code PT30S}) or a number
 * with a unit ({@code 500ms}, {@code 30s}, {@code 2m}, {@code 1h}). Only positive durations.
 */
public final class Durations {
    private static final Pattern SHORT = Pattern.compile("(\\d{1,9})(ms|s|m|h)");

    private Durations() {}

    /** The duration, or {@link IllegalArgumentException} with a message that shows the accepted forms. */
    public static Duration parse(String text) {
        String s = text == null ? "" : text.trim();
        Duration d;
        Matcher m = SHORT.matcher(s);
        if (m.matches()) {
            long n = Long.parseLong(m.group(1));
            d = switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                default -> Duration.ofHours(n);
            };
        } else {
            try {
                d = Duration.parse(s);
            } catch (DateTimeParseException e) {
                throw new IllegalArgumentException(
                        "must be a duration like 500ms, 30s, 2m, 1h or PT30S, was: " + text);
            }
        }
        if (d.isZero() || d.isNegative()) {
            throw new IllegalArgumentException("must be a positive duration, was: " + text);
        }
        return d;
    }
}
