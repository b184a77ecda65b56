package dev.netfence.nft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class AlongsideTest {
    @Test
    void workThatCompletesLeavesNothingToThrow() {
        int[] runs = {0};
        Alongside aside = new Alongside(() -> runs[0]++);
        aside.run();
        aside.rethrow();
        IllegalStateException primary = new IllegalStateException("trip");
        assertThat(aside.suppressIn(primary).getSuppressed()).isEmpty();
        assertThat(runs[0]).isEqualTo(1);
    }

    @Test
    void aRuntimeExceptionIsHeldUntilRethrownAsItWas() {
        IllegalArgumentException failure = new IllegalArgumentException("alongside");
        Alongside aside = new Alongside(() -> {
            throw failure;
        });
        aside.run(); // does not throw: the trip must still be waited for
        assertThatThrownBy(aside::rethrow).isSameAs(failure);
    }

    @Test
    void anErrorIsHeldToo() {
        AssertionError failure = new AssertionError("alongside");
        Alongside aside = new Alongside(() -> {
            throw failure;
        });
        aside.run();
        assertThatThrownBy(aside::rethrow).isSameAs(failure);
    }

    @Test
    void theTripsOwnFailureGoesFirstAndCarriesTheHeldOneSuppressed() {
        IllegalArgumentException failure = new IllegalArgumentException("alongside");
        Alongside aside = new Alongside(() -> {
            throw failure;
        });
        aside.run();
        IllegalStateException trip = new IllegalStateException("trip");
        assertThat(aside.suppressIn(trip)).isSameAs(trip);
        assertThat(trip.getSuppressed()).containsExactly(failure);
        assertThat(aside.suppressIn(failure).getSuppressed()).isEmpty(); // never suppressed in itself
    }
}
