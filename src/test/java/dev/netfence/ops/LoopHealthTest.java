package dev.netfence.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.netfence.testkit.MutableClock;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class LoopHealthTest {

    private final MutableClock clock = new MutableClock(Instant.parse("2026-11-28T15:00:00Z"));
    private final LoopHealth health = new LoopHealth(clock, Duration.ofSeconds(30));

    @Test
    void livenessFailsWhenTheLoopStopsBeatingForLongerThanTheThreshold() {
        clock.advance(Duration.ofSeconds(20));
        health.beat();
        clock.advance(Duration.ofSeconds(30));
        assertThat(health.liveness().check().healthy()).isTrue();

        clock.advance(Duration.ofSeconds(1));
        assertThat(health.liveness().check()).isEqualTo(HealthStatus.down("loop stalled: no poll for 31000 ms"));

        health.beat();
        assertThat(health.liveness().check().healthy()).isTrue();
    }

    @Test
    void aStoppedLoopIsNotLiveEvenIfItBeatsAgain() {
        health.stopped("fatal: authorization failed");
        health.beat();

        assertThat(health.liveness().check()).isEqualTo(HealthStatus.down("loop stopped: fatal: authorization failed"));
    }

    @Test
    void aNonPositiveStallThresholdIsRejected() {
        assertThatThrownBy(() -> new LoopHealth(clock, Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("stallThreshold must be positive, was PT0S");
    }
}
