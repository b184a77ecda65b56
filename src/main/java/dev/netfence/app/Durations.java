package dev.netfence.app;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one parser of DURATION values on the command line: a whole number with a unit
 * ({@code 500ms}, {@code 30s}, {@code 2m}, {@code 1h}, any case, optionally signed) or ISO-8601
 * ({@code PT30S}, {@code P1D}). It reads the value only; the options that need a positive
 * duration refuse zero and negative ones with their own messages.
 */
public final class Durations {
    private static final Pattern SHORT = Pattern.compile("([+-]?\\d{1,18})(ms|s|m|h)");

    private Durations() {}

    /** The duration {@code text} names, or {@link IllegalArgumentException} when it names none. */
    public static Duration parse(String text) {
        String s = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
        Matcher m = SHORT.matcher(s);
        try {
            if (m.matches()) {
                long n = Long.parseLong(m.group(1));
                return switch (m.group(2)) {
                    case "ms" -> Duration.ofMillis(n);
                    case "s" -> Duration.ofSeconds(n);
                    case "m" -> Duration.ofMinutes(n);
                    default -> Duration.ofHours(n);
                };
            }
            return Duration.parse(s.toUpperCase(Locale.ROOT));
        } catch (DateTimeParseException | ArithmeticException e) {
            throw new IllegalArgumentException("not a duration: " + text);
        }
    }
}
