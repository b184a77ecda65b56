package dev.netfence.policy.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A streak of failures is reported once it is long enough, with the last failure, and ends with a success. */
class FailureStreakTest {
    private long now = 1_000;
    private final FailureStreak streak = new FailureStreak(() -> now);

    @Test
    void aStreakIsReportedOnceItLastedLongEnoughWithItsLastFailure() {
        assertThat(streak.reason("reading t", Duration.ZERO)).isEmpty();
        streak.failed("TopicAuthorizationException");
        now += Duration.ofSeconds(29).toNanos();
        streak.failed("TopicAuthorizationException: Not authorized to access topics: [t]");

        assertThat(streak.reason("reading t", Duration.ofSeconds(30))).isEmpty();
        assertThat(streak.reason("reading t", Duration.ZERO)).hasValue(
                "reading t has failed for 29 s: TopicAuthorizationException: Not authorized to access topics: [t]");

        now += Duration.ofSeconds(2).toNanos();
        assertThat(streak.reason("reading t", Duration.ofSeconds(30))).get().asString().startsWith("reading t has failed for 31 s");
    }

    @Test
    void aSuccessEndsTheStreakAndTheNextFailureStartsANewOne() {
        streak.failed("one");
        now += Duration.ofMinutes(5).toNanos();
        streak.succeeded();
        assertThat(streak.reason("reading t", Duration.ZERO)).isEmpty();

        streak.failed("two");
        now += Duration.ofSeconds(1).toNanos();
        assertThat(streak.reason("reading t", Duration.ZERO)).hasValue("reading t has failed for 1 s: two");
    }
}
