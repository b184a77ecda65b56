package dev.netfence.event;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult.ErrorInfo;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Builders;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The hand-listed streaming writer must produce byte for byte what Jackson's record serializer
 * produced before it (the contract's field order, nulls written, the same escaping), for any
 * outcome: hostile strings, empty and null parts, errors or none.
 */
class OutcomeWriterPropertiesTest {
    private final OutcomeCodec codec = new OutcomeCodec();

    @Property(tries = 1000)
    void theStreamingWriterWritesExactlyWhatTheRecordSerializerWrites(@ForAll("outcomes") Outcome outcome) {
        String streamed = new String(codec.encode(outcome), StandardCharsets.UTF_8);
        String reflected = new String(codec.encodeByReflection(outcome), StandardCharsets.UTF_8);

        assertThat(streamed).isEqualTo(reflected);
    }

    @Provide
    Arbitrary<Outcome> outcomes() {
        Arbitrary<String> text = Arbitraries.strings().all().ofMaxLength(20);
        Arbitrary<String> maybe = text.injectNull(0.3);
        Arbitrary<List<String>> list = text.list().ofMaxSize(3);
        Arbitrary<Instant> instant = Arbitraries.longs().between(-62_167_219_200_000L, 253_402_300_799_999L).map(Instant::ofEpochMilli);
        Arbitrary<ErrorInfo> error = Builders.withBuilder(() -> new Object[3])
                .use(text).in((a, v) -> { a[0] = v; return a; })
                .use(text).in((a, v) -> { a[1] = v; return a; })
                .use(Arbitraries.of(true, false)).in((a, v) -> { a[2] = v; return a; })
                .build(a -> new ErrorInfo((String) a[0], (String) a[1], (Boolean) a[2])).injectNull(0.5);
        Arbitrary<Map<String, List<String>>> resolved = Arbitraries.maps(text, list).ofMaxSize(3);
        return Builders.withBuilder(() -> new Object[24])
                .use(maybe).in((a, v) -> set(a, 1, v))
                .use(maybe).in((a, v) -> set(a, 2, v))
                .use(text).in((a, v) -> set(a, 3, v))
                .use(maybe).in((a, v) -> set(a, 4, v))
                .use(Arbitraries.of("applied", "failed", "skipped")).in((a, v) -> set(a, 5, v))
                .use(maybe).in((a, v) -> set(a, 6, v))
                .use(maybe).in((a, v) -> set(a, 7, v))
                .use(maybe).in((a, v) -> set(a, 8, v))
                .use(list).in((a, v) -> set(a, 9, v))
                .use(Arbitraries.integers().between(0, 5000)).in((a, v) -> set(a, 10, v))
                .use(resolved).in((a, v) -> set(a, 11, v))
                .use(list).in((a, v) -> set(a, 12, v))
                .use(Arbitraries.of(true, false)).in((a, v) -> set(a, 13, v))
                .use(Arbitraries.integers().between(0, 10)).in((a, v) -> set(a, 14, v))
                .use(error).in((a, v) -> set(a, 15, v))
                .use(instant.injectNull(0.2)).in((a, v) -> set(a, 16, v))
                .use(instant).in((a, v) -> set(a, 17, v))
                .use(Arbitraries.longs().between(-5, 1_000_000).injectNull(0.3)).in((a, v) -> set(a, 18, v))
                .use(Arbitraries.of(true, false)).in((a, v) -> set(a, 19, v))
                .use(text).in((a, v) -> set(a, 20, v))
                .use(list).in((a, v) -> set(a, 21, v))
                .use(Arbitraries.of(List.<String>of(), List.of("netns"), List.of("netns", "host"))).in((a, v) -> set(a, 22, v))
                .use(Arbitraries.of("start", "stop", "replay", "policy-update", "drift", "re-resolve"))
                .in((a, v) -> set(a, 23, v))
                .build(a -> new Outcome(1, (String) a[1], (String) a[2], (String) a[3], (String) a[4], (String) a[5],
                        (String) a[6], (String) a[7], (String) a[8], cast(a[9]), (Integer) a[10], cast(a[11]),
                        cast(a[12]), cast(a[21]), List.of(), (Boolean) a[13], cast(a[22]), (Integer) a[14], (ErrorInfo) a[15], (Instant) a[16],
                        (Instant) a[17], (Long) a[18], (Boolean) a[19], (String) a[23],
                        new Outcome.EnforcerInfo((String) a[20], "0.1.0")));
    }

    private static Object[] set(Object[] a, int i, Object v) {
        a[i] = v;
        return a;
    }

    @SuppressWarnings("unchecked")
    private static <T> T cast(Object o) {
        return (T) o;
    }
}
