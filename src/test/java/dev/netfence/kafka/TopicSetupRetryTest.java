package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class TopicSetupRetryTest {

    @Test
    void theSetupIsTriedAgainUntilTheBrokerAnswersAndThenNoMore() {
        AtomicInteger attempts = new AtomicInteger();
        try (TopicSetupRetry retry = TopicSetupRetry.start(() -> attempts.incrementAndGet() >= 3, Duration.ofMillis(5),
                Duration.ofMillis(20))) {
            await().atMost(Duration.ofSeconds(10)).until(retry::stopped);
            assertThat(attempts.get()).isEqualTo(3);
            await().during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(1)).until(() -> attempts.get() == 3);
        }
    }

    @Test
    void aFailingAttemptCountsAsUnansweredAndClosingStopsTheTries() {
        AtomicInteger attempts = new AtomicInteger();
        TopicSetupRetry retry = TopicSetupRetry.start(() -> {
            attempts.incrementAndGet();
            throw new IllegalStateException("broker down");
        }, Duration.ofMillis(5), Duration.ofMillis(10));
        await().atMost(Duration.ofSeconds(10)).until(() -> attempts.get() >= 2);
        assertThat(retry.stopped()).isFalse();

        retry.close();

        assertThat(retry.stopped()).isTrue();
        int after = attempts.get();
        await().during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(1)).until(() -> attempts.get() <= after + 1);
    }

    @Test
    void aPauseThatIsNotPositiveOrAMaximumBelowItIsRefused() {
        assertThatThrownBy(() -> TopicSetupRetry.start(() -> true, Duration.ZERO, Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("first must be positive and max at least first, was: PT0S, PT1S");
        assertThatThrownBy(() -> TopicSetupRetry.start(() -> true, Duration.ofSeconds(2), Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("first must be positive and max at least first, was: PT2S, PT1S");
    }
}
