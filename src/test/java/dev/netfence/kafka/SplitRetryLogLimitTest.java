package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.core.spi.FilterReply;
import dev.netfence.testkit.MutableClock;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** {@link SplitRetryLogLimit}: one "splitting and retrying" line per window, every other line untouched. */
class SplitRetryLogLimitTest {
    private static final String SPLIT = "[Producer clientId=netfence-n1] Got error produce response in correlation id {}"
            + " on topic-partition {}, splitting and retrying ({} attempts left). Error: {}";
    private final MutableClock clock = new MutableClock(Instant.parse("2026-12-01T03:00:00Z"));
    private final SplitRetryLogLimit limit = new SplitRetryLogLimit(clock);
    private final LoggerContext context = new LoggerContext();
    private final ch.qos.logback.classic.Logger sender =
            context.getLogger("org.apache.kafka.clients.producer.internals.Sender");

    @Test
    void theSendersSplitAndRetryWarningPassesOncePerWindow() {
        assertThat(limit.decide(null, sender, Level.WARN, SPLIT, null, null)).isEqualTo(FilterReply.NEUTRAL);
        for (int i = 0; i < 1000; i++) {
            assertThat(limit.decide(null, sender, Level.WARN, SPLIT, null, null)).isEqualTo(FilterReply.DENY);
        }
        clock.advance(SplitRetryLogLimit.WINDOW.plus(Duration.ofMillis(1)));
        assertThat(limit.decide(null, sender, Level.WARN, SPLIT, null, null)).isEqualTo(FilterReply.NEUTRAL);
        assertThat(limit.decide(null, sender, Level.WARN, SPLIT, null, null)).isEqualTo(FilterReply.DENY);
    }

    @Test
    void otherLinesOfTheSenderAndOtherLoggersAreLeftAlone() {
        String retrying = "[Producer clientId=netfence-n1] Got error produce response with correlation id {} on"
                + " topic-partition {}, retrying ({} attempts left). Error: {}";
        for (int i = 0; i < 3; i++) {
            assertThat(limit.decide(null, sender, Level.WARN, retrying, null, null)).isEqualTo(FilterReply.NEUTRAL);
            assertThat(limit.decide(null, context.getLogger("dev.netfence.kafka.EventPipeline"), Level.WARN, SPLIT,
                    null, null)).isEqualTo(FilterReply.NEUTRAL);
        }
    }
}
