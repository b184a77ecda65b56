package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * When a container's live-set mark of an outcome not acknowledged may go, and when its state is to
 * be said again ({@link UnsentOutcomes}, for {@link OutcomeMarks}).
 */
class UnsentOutcomesTest {
    private final UnsentOutcomes unsent = new UnsentOutcomes();

    @Test
    void theMarkMayGoOnlyOnceEveryOutcomeSentIsAcknowledged() {
        unsent.sending("c1");
        unsent.sending("c1");

        assertThat(unsent.settled("c1", true)).as("one still on its way").isFalse();
        assertThat(unsent.takeAcknowledged("c1")).isFalse();
        assertThat(unsent.nothingKnown("c1")).as("on its way: not said again").isFalse();
        assertThat(unsent.settled("c1", true)).isTrue();
        assertThat(unsent.takeAcknowledged("c1")).isTrue();
        assertThat(unsent.nothingKnown("c1")).as("acknowledged and cleared: a mark seen now was read back").isTrue();
    }

    @Test
    void aFailureKeepsTheMarkUntilTheStateIsSaidAgain() {
        unsent.sending("c1");
        unsent.sending("c1");
        assertThat(unsent.settled("c1", false)).isFalse();
        assertThat(unsent.settled("c1", true)).as("the later one landed, the earlier did not: said again").isFalse();
        assertThat(unsent.takeAcknowledged("c1")).isFalse();

        assertThat(unsent.takeBack("c1")).isTrue();
        assertThat(unsent.takeBack("c1")).as("once").isFalse();
        unsent.sending("c1");
        assertThat(unsent.settled("c1", true)).isTrue();
    }

    @Test
    void aContainerReleasedLeavesNothingBehind() {
        unsent.sending("c1");
        unsent.forget("c1");

        assertThat(unsent.settled("c1", false)).isFalse();
        assertThat(unsent.takeBack("c1")).as("its outcome settled after it was forgotten").isFalse();
        assertThat(unsent.nothingKnown("c1")).isTrue();
    }
}
