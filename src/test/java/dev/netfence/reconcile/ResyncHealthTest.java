package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.testkit.MutableClock;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ResyncHealthTest {
    private static final Duration INTERVAL = Duration.ofSeconds(30);
    private static final Duration DEADLINE = Duration.ofSeconds(30);
    private final MutableClock steady = new MutableClock(Instant.parse("2026-12-05T00:00:00Z"));
    private final ResyncHealth health = new ResyncHealth(steady, INTERVAL, DEADLINE);

    @Test
    void passesInTimeKeepItReady() {
        for (int i = 0; i < 10; i++) {
            steady.advance(INTERVAL);
            health.started();
            steady.advance(Duration.ofSeconds(2));
            health.finished(0, 40, INTERVAL.multipliedBy(2));
            assertThat(health.notReadyReason()).isEmpty();
        }
    }

    @Test
    void twoPassesInARowThatLeftContainersUncheckedMakeItNotReadyUntilAPassFinishesInTime() {
        overdue(3);
        assertThat(health.notReadyReason()).as("one overdue pass: a burst").isEmpty();
        overdue(5);
        assertThat(health.notReadyReason()).hasValue("resync overdue: 5 of 40 live containers were not checked within"
                + " 60 s in the last pass (the next pass checks them first); 2 passes in a row ended so");

        health.started();
        assertThat(health.notReadyReason()).as("while the next pass runs").isPresent();
        health.finished(0, 40, Duration.ofSeconds(60));
        assertThat(health.notReadyReason()).isEmpty();
        overdue(1);
        assertThat(health.notReadyReason()).as("the count starts again after a pass in time").isEmpty();
    }

    @Test
    void passesThatFailedMakeItNotReadyUntilAPassFinishesInTime() {
        health.started();
        health.failed(new IllegalStateException("the journal's producer is closed"));
        overdue(2);
        assertThat(health.notReadyReason()).hasValueSatisfying(r -> assertThat(r).startsWith("resync overdue: 2 of 40"));
        health.started();
        health.failed(new IllegalStateException("the journal's producer is closed"));
        assertThat(health.notReadyReason()).hasValue("the last resync failed: java.lang.IllegalStateException:"
                + " the journal's producer is closed; 3 passes in a row ended so");

        health.started();
        health.finished(0, 1, null);
        assertThat(health.notReadyReason()).isEmpty();
    }

    @Test
    void aPassRunningForTwoIntervalsAndTheGraceIsStuck() {
        health.started();
        steady.advance(Duration.ofSeconds(90)); // 2 x 30 s, and the grace: the longer of the interval and the deadline
        assertThat(health.notReadyReason()).as("not yet").isEmpty();
        steady.advance(Duration.ofSeconds(1));
        assertThat(health.notReadyReason())
                .hasValue("resync stuck: the pass that started 91 s ago has not returned (resync interval 30 s)");
        health.idle(); // the schedule cannot run while the pass is stuck; were it told so, nothing changes
        assertThat(health.notReadyReason()).isPresent();

        health.finished(0, 1, INTERVAL.multipliedBy(2));
        assertThat(health.notReadyReason()).isEmpty();
    }

    @Test
    void noPassForThreeIntervalsAndTheGraceWhileOneWasDueIsReported() {
        steady.advance(Duration.ofSeconds(120));
        assertThat(health.notReadyReason()).isEmpty();
        steady.advance(Duration.ofMillis(500));
        assertThat(health.notReadyReason()).hasValue("no resync pass for 120 s (resync interval 30 s)");
    }

    @Test
    void nothingIsDueWhileTheReconcilerWaits() {
        for (int i = 0; i < 10; i++) {
            steady.advance(INTERVAL);
            health.idle(); // standing by, or the policy store not caught up: the schedule's cycles pass nothing
        }
        assertThat(health.notReadyReason()).isEmpty();
        steady.advance(Duration.ofSeconds(121));
        assertThat(health.notReadyReason()).hasValue("no resync pass for 121 s (resync interval 30 s)");
    }

    @Test
    void aShortIntervalGetsTheCorrectionDeadlineAsItsGraceAndIsToldInTenthsOfASecond() {
        ResyncHealth fast = new ResyncHealth(steady, Duration.ofMillis(100), DEADLINE);
        fast.started();
        steady.advance(Duration.ofSeconds(30));
        assertThat(fast.notReadyReason()).as("a check may take the deadline, and a sweep follows").isEmpty();
        steady.advance(Duration.ofMillis(300));
        assertThat(fast.notReadyReason()).hasValue("resync stuck: the pass that started 30 s ago has not returned"
                + " (resync interval 0.1 s)");
        fast.finished(1, 2, Duration.ofMillis(200));
        fast.started();
        fast.finished(1, 2, Duration.ofMillis(200));
        assertThat(fast.notReadyReason()).hasValueSatisfying(r -> assertThat(r).contains("within 0.2 s"));
    }

    private void overdue(int unchecked) {
        health.started();
        steady.advance(Duration.ofSeconds(60));
        health.finished(unchecked, 40, Duration.ofSeconds(60));
    }
}
