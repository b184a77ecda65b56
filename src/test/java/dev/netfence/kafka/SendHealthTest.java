package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.testkit.MutableClock;
import java.time.Duration;
import java.time.Instant;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.junit.jupiter.api.Test;

class SendHealthTest {
    private final MutableClock clock = new MutableClock(Instant.parse("2026-12-04T04:00:00Z"));
    private final SendHealth health = new SendHealth(clock, Duration.ofSeconds(30));
    private final RecordTooLargeException tooLarge = new RecordTooLargeException("the message is 2000000 bytes");

    @Test
    void aSingleRefusalOnAQuietTopicIsNoReasonToBeNotReadyHoweverLongNothingElseIsSent() {
        health.refused("outcomes", tooLarge);
        clock.advance(Duration.ofMinutes(10));

        assertThat(health.notReadyReason()).isEmpty();
    }

    @Test
    void aTopicThatKeepsRefusingForTheBoundIsAReasonUntilItTakesAnOutputAgain() {
        health.refused("outcomes", tooLarge);
        clock.advance(Duration.ofSeconds(20));
        health.refused("outcomes", tooLarge);
        assertThat(health.notReadyReason()).isEmpty();

        clock.advance(Duration.ofSeconds(10));
        health.refused("outcomes", tooLarge);
        assertThat(health.notReadyReason()).hasValueSatisfying(why -> assertThat(why)
                .startsWith("topic outcomes has refused every output for 30 s (3 refused, none taken since): "));

        health.succeeded("outcomes");
        assertThat(health.notReadyReason()).isEmpty();
    }
}
