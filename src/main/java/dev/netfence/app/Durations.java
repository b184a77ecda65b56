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
 * duration refuse zero and negative ones with their own messages. {@link #parseSum} reads, with
 * the same units plus days, the compound form of the ops commands' "TIME ago" ({@code 1h30m}).
 */
public final class Durations {
    private static final Pattern SHORT = Pattern.compile("([+-]?\\d{1,18})(ms|s|m|h)");
    private static final Pattern SUM = Pattern.compile("(\\d+(ms|s|m|h|d))+");
    private static final Pattern PART = Pattern.compile("(\\d+)(ms|s|m|h|d)");

    private Durations() {}

    /** The duration {@code text} names, or {@link IllegalArgumentException} when it names none. */
    public static Duration parse(String text) {
        String s = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
        Matcher m = SHORT.matcher(s);
        try {
            if (m.matches()) {
                return unit(Long.parseLong(m.group(1)), m.group(2));
            }
            return Duration.parse(s.toUpperCase(Locale.ROOT));
        } catch (DateTimeParseException | ArithmeticException e) {
            throw new IllegalArgumentException("not a duration: " + text);
        }
    }

    /**
     * A sum of unsigned unit parts, days included ({@code 1h30m}, {@code 2d}, {@code 500ms}; exact
     * case), or {@link IllegalArgumentException} ({@code not a duration: ...}) when {@code text} is
     * not one or overflows.
     */
    public static Duration parseSum(String text) {
        String s = text == null ? "" : text;
        if (!SUM.matcher(s).matches()) {
            throw new IllegalArgumentException("not a duration: " + text);
        }
        Duration total = Duration.ZERO;
        Matcher part = PART.matcher(s);
        try {
            while (part.find()) {
                total = total.plus(unit(Long.parseLong(part.group(1)), part.group(2)));
            }
        } catch (ArithmeticException | NumberFormatException e) {
            throw new IllegalArgumentException("not a duration: " + text);
        }
        return total;
    }

    private static Duration unit(long n, String unit) {
        return switch (unit) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofDays(n);
        };
    }
}
