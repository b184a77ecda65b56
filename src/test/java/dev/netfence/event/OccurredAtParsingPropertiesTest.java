package dev.netfence.event;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The decoder reads {@code occurredAt} with a fast RFC 3339 parser instead of java.time's
 * formatter (the formatter was a quarter of the poll thread's time). This pins that the switch
 * changed nothing: for any string of the schema's date-time shape, including impossible dates,
 * hours, offsets and overlong fractions, the decoder accepts exactly when
 * {@code OffsetDateTime.parse(s, ISO_OFFSET_DATE_TIME)} does, and to the same instant.
 */
class OccurredAtParsingPropertiesTest {
    private final EventDecoder decoder = new EventDecoder();

    @Property(tries = 2000)
    void theDecoderAcceptsExactlyTheDateTimesJavaTimeAcceptsAndReadsTheSameInstant(
            @ForAll("dateTimes") String occurredAt) {
        DecodeResult result = decoder.decode(event(occurredAt));

        Optional<Instant> expected = javaTime(occurredAt);
        if (expected.isPresent()) {
            assertThat(result).isInstanceOf(DecodeResult.Decoded.class);
            assertThat(((DecodeResult.Decoded) result).event().occurredAt()).isEqualTo(expected.get());
        } else {
            assertThat(result).isInstanceOf(DecodeResult.Invalid.class);
        }
    }

    @Provide
    Arbitrary<String> dateTimes() {
        Arbitrary<String> date = Combinators.combine(
                Arbitraries.integers().between(0, 9999), two(0, 13), two(0, 32))
                .as((y, m, d) -> String.format("%04d-%s-%s", y, m, d));
        Arbitrary<String> time = Combinators.combine(two(0, 25), two(0, 61), two(0, 61))
                .as((h, m, s) -> h + ":" + m + ":" + s);
        Arbitrary<String> fraction = Arbitraries.oneOf(Arbitraries.just(""),
                Arbitraries.strings().numeric().ofMinLength(1).ofMaxLength(12).map(f -> "." + f));
        Arbitrary<String> offset = Arbitraries.oneOf(Arbitraries.of("Z", "z"),
                Combinators.combine(Arbitraries.of("+", "-"), two(0, 25), two(0, 61)).as((s, h, m) -> s + h + ":" + m));
        return Combinators.combine(date, Arbitraries.of("T", "t"), time, fraction, offset)
                .as((d, t, tm, f, o) -> d + t + tm + f + o);
    }

    private static Arbitrary<String> two(int min, int max) {
        return Arbitraries.integers().between(min, max).map(i -> String.format("%02d", i));
    }

    private static Optional<Instant> javaTime(String s) {
        try {
            return Optional.of(OffsetDateTime.parse(s, DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant());
        } catch (DateTimeParseException e) {
            return Optional.empty();
        }
    }

    private static byte[] event(String occurredAt) {
        return ("{\"schemaVersion\":1,\"type\":\"container.started\",\"eventId\":\"e1\",\"occurredAt\":\""
                + occurredAt + "\",\"nodeId\":\"n1\",\"taskId\":\"t1\",\"containerId\":\"c1\",\"pid\":4242}")
                .getBytes(StandardCharsets.UTF_8);
    }
}
