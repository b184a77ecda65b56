package dev.netfence.cli;

import dev.netfence.app.Durations;
import java.time.Duration;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Reads a DURATION option of the ops commands with {@link Durations}: {@code 500ms}, {@code 30s},
 * {@code 5m}, {@code 1h}, or ISO-8601 ({@code PT30S}). Zero and negative durations are refused.
 */
public final class DurationConverter implements ITypeConverter<Duration> {

    @Override
    public Duration convert(String value) {
        Duration duration;
        try {
            duration = Durations.parse(value);
        } catch (IllegalArgumentException e) {
            throw new TypeConversionException("'" + value + "' is not a duration (500ms, 30s, 5m, 1h, PT30S)");
        }
        if (duration.isZero() || duration.isNegative()) {
            throw new TypeConversionException("'" + value + "' must be a positive duration");
        }
        return duration;
    }
}
