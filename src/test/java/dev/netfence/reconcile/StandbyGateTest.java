package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.testkit.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * When resyncs and corrections may run again after this instance stood by: after a take-over read
 * begun after it joined again, or after {@link StandbyGate#AT_MOST}, which also asks for a pass
 * at once, never while it stands by.
 */
class StandbyGateTest {
    private final MutableClock clock = new MutableClock(Instant.parse("2026-12-05T07:00:00Z"));
    private final AtomicInteger opened = new AtomicInteger();
    private final StandbyGate gate = new StandbyGate(clock, true, opened::incrementAndGet);

    @Test
    void aReadBegunAfterJoiningAgainEndsTheWaitAndABoundIsNotNeeded() {
        gate.standingBy(true);
        gate.standingBy(false);
        long began = gate.epoch();

        assertThat(gate.waiting()).isTrue();
        assertThat(gate.readEnded(began)).isTrue();
        assertThat(gate.waiting()).isFalse();
        assertThat(opened).hasValue(0);
    }

    @Test
    void whileItWaitsAfterJoiningAgainItSaysWhyAndNotWhileItStandsBy() {
        assertThat(gate.reason()).as("never stood by").isEmpty();
        gate.standingBy(true);
        assertThat(gate.reason()).as("standing by: the pipeline's reason").isEmpty();
        gate.standingBy(false);
        assertThat(gate.reason()).hasValueSatisfying(r -> assertThat(r).startsWith(
                "joined again (no partition assigned since): no resync or correction until the journal is read again"));
        gate.assigned();
        clock.advance(Duration.ofSeconds(42));
        assertThat(gate.reason()).hasValueSatisfying(r -> assertThat(r).startsWith("joined again 42 s ago: ")
                .endsWith("at most 5 min after the first assignment: policy changes reach no container meanwhile"));

        assertThat(gate.readEnded(gate.epoch())).isTrue();
        assertThat(gate.reason()).isEmpty();
        gate.standingBy(true);
        gate.standingBy(false);
        gate.assigned();
        clock.advance(StandbyGate.AT_MOST.plusSeconds(1));
        assertThat(gate.reason()).as("past the bound: resumed").isEmpty();
    }

    @Test
    void aReadBegunWhileStandingByEndsNothing() {
        gate.standingBy(true);
        long began = gate.epoch();
        gate.standingBy(false);

        assertThat(gate.readEnded(began)).isFalse();
        assertThat(gate.waiting()).isTrue();
    }

    @Test
    void theBoundEndsTheWaitOnceAndAsksForAResyncAtOnce() {
        gate.standingBy(true);
        gate.standingBy(false);
        clock.advance(Duration.ofMinutes(2)); // joining took a while: the bound counts from the assignment
        gate.assigned();
        clock.advance(StandbyGate.AT_MOST);

        assertThat(gate.waiting()).as("at the bound, not past it").isTrue();
        assertThat(opened).hasValue(0);

        clock.advance(Duration.ofMillis(1));

        assertThat(gate.waiting()).isFalse();
        assertThat(gate.waiting()).isFalse();
        assertThat(opened).as("one pass asked for, not one per question").hasValue(1);
    }

    @Test
    void withoutAnAssignmentAfterJoiningTheBoundNeverEndsTheWait() {
        // joined again, but never given partitions (its credentials refused, say): the other instance enforces
        gate.standingBy(true);
        gate.standingBy(false);
        clock.advance(StandbyGate.AT_MOST.multipliedBy(3));

        assertThat(gate.waiting()).isTrue();
        assertThat(opened).hasValue(0);
    }

    @Test
    void theBoundDoesNotRunWhileThisInstanceStandsBy() {
        gate.standingBy(true);
        clock.advance(StandbyGate.AT_MOST.multipliedBy(3));

        assertThat(gate.waiting()).isTrue();
        assertThat(opened).hasValue(0);
    }

    @Test
    void withoutJournalReadsJoiningAgainEndsTheWait() {
        StandbyGate plain = new StandbyGate(clock, false, opened::incrementAndGet);
        plain.standingBy(true);

        assertThat(plain.waiting()).isTrue();

        plain.standingBy(false);

        assertThat(plain.waiting()).isFalse();
        assertThat(opened).hasValue(0);
    }
}
