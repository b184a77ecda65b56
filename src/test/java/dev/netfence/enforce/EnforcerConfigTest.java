package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Bad settings fail with a message naming the field and the value. */
class EnforcerConfigTest {

    @Test
    void zeroAttemptsIsRefused() {
        assertThatThrownBy(() -> EnforcerConfig.custom().maxAttempts(0).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessage("maxAttempts must be 1-100, was: 0");
    }

    @Test
    void aBackoffMaxBelowTheBaseIsRefused() {
        assertThatThrownBy(() -> EnforcerConfig.custom().backoff(Duration.ofSeconds(2), Duration.ofSeconds(1)).build())
                .hasMessage("backoffMax must be at least backoffBase (PT2S), was: PT1S");
    }

    @Test
    void anUnknownOnFailureFlagIsRefused() {
        assertThatThrownBy(() -> OnFailure.parse("ignore")).hasMessage("on-failure must be quarantine or leave, was: ignore");
    }

    @Test
    void aLockWaitOfZeroIsRefusedBecauseLegacyRestoreWouldWaitForever() {
        assertThatThrownBy(() -> EnforcerConfig.custom().lockWaitSeconds(0).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessage("lockWaitSeconds must be 1-600, was: 0");
    }
}
