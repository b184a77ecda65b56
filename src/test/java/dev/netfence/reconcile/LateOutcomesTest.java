package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.event.Outcome;
import dev.netfence.event.Outcomes;
import dev.netfence.event.Trigger;
import dev.netfence.testkit.MutableClock;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class LateOutcomesTest {
    private final MutableClock clock = new MutableClock(Instant.parse("2026-12-01T03:00:00Z"));
    private final Outcomes outcomes = new Outcomes(clock, "node-1/1", "test");
    private final LateOutcomes late = new LateOutcomes();

    @Test
    void theLastCorrectionSentAfterAnEventWasCountedOutIsTheOneToSendAgain() {
        late.countedOut("c1", "ev-1", clock.instant());
        Outcome first = correction("c1");
        Outcome second = correction("c1");
        late.sent("c1", first);
        late.sent("c1", second);
        late.sent("c2", correction("c2"));

        assertThat(late.reported("c1", "ev-1", true)).isSameAs(second);
        late.countedOut("c1", "ev-2", clock.instant());
        late.sent("c1", first);
        late.sent("c1", null); // sent with an event queued behind it
        assertThat(late.reported("c1", "ev-2", true)).as("the event behind it is newer").isNull();
        assertThat(late.reported("c1", "ev-1", true)).as("forgotten once reported").isNull();
        assertThat(late.size()).isZero();
    }

    @Test
    void noMoreThanTheLimitIsRememberedAndForgettingMakesRoomAgain() {
        for (int i = 0; i < LateOutcomes.MAX; i++) {
            assertThat(late.countedOut("c" + i, "ev", clock.instant())).isTrue();
        }
        assertThat(late.countedOut("c-over", "ev", clock.instant())).isFalse();
        assertThat(late.size()).isEqualTo(LateOutcomes.MAX);

        late.forget(clock.instant().plus(LateOutcomes.KEPT));
        assertThat(late.size()).as("kept for exactly " + LateOutcomes.KEPT).isEqualTo(LateOutcomes.MAX);
        late.forget(clock.instant().plus(LateOutcomes.KEPT).plusMillis(1));
        assertThat(late.size()).isZero();
        assertThat(late.countedOut("c-over", "ev", clock.instant())).isTrue();
    }

    private Outcome correction(String containerId) {
        return outcomes.reconciled(containerId, "task-1", "node-1", EnforcementResult.applied().build(), Trigger.POLICY_UPDATE);
    }
}
