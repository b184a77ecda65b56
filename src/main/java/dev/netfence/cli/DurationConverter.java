package dev.netfence.cli;

import java.time.Duration;
import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Reads a DURATION option: {@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h}, or ISO-8601
 * ({@code PT30S}). Zero and negative durations are refused.
 */
public final class DurationConverter implements ITypeConverter<Duration> {

    @Override
    public Duration convert(String value) {
        String v = value.trim().toLowerCase(Locale.ROOT);
        Duration duration;
        try {
            if (v.startsWith("pt") || v.startsWith("-pt")) {
                duration = Duration.parse(v.toUpperCase(Locale.ROOT));
            } else if (v.endsWith("ms")) {
                duration = Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)));
            } else if (v.endsWith("s")) {
                duration = Duration.ofSeconds(Long.parseLong(v.substring(0, v.length() - 1)));
            } else if (v.endsWith("m")) {
                duration = Duration.ofMinutes(Long.parseLong(v.substring(0, v.length() - 1)));
            } else if (v.endsWith("h")) {
                duration = Duration.ofHours(Long.parseLong(v.substring(0, v.length() - 1)));
            } else {
                throw new TypeConversionException("'" + value + "' is not a duration (500ms, 30s, 5m, 1h, PT30S)");
            }
        } catch (RuntimeException e) {
            if (e instanceof TypeConversionException t) {
                throw t;
            }
            throw new TypeConversionException("'" + value + "' is not a duration (500ms, 30s, 5m, 1h, PT30S)");
        }
        if (duration.isZero() || duration.isNegative()) {
            throw new TypeConversionException("'" + value + "' must be a positive duration");
        }
        return duration;
    }
}
