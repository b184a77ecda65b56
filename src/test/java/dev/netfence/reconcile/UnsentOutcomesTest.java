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
        long first = unsent.sending("c1");
        long second = unsent.sending("c1");

        assertThat(unsent.settled("c1", first, true)).as("one still on its way").isFalse();
        assertThat(unsent.takeAcknowledged("c1")).isFalse();
        assertThat(unsent.nothingKnown("c1")).as("on its way: not said again").isFalse();
        assertThat(unsent.settled("c1", second, true)).isTrue();
        assertThat(unsent.takeAcknowledged("c1")).isTrue();
        assertThat(unsent.nothingKnown("c1")).as("acknowledged and cleared: a mark seen now was read back").isTrue();
    }

    @Test
    void aFailureKeepsTheMarkUntilTheStateIsSaidAgain() {
        long first = unsent.sending("c1");
        long second = unsent.sending("c1");
        assertThat(unsent.settled("c1", first, false)).isFalse();
        assertThat(unsent.settled("c1", second, true)).as("the later one landed, the earlier did not: said again")
                .isFalse();
        assertThat(unsent.takeAcknowledged("c1")).isFalse();

        assertThat(unsent.takeBack("c1")).isTrue();
        assertThat(unsent.takeBack("c1")).as("once").isFalse();
        long again = unsent.sending("c1");
        assertThat(unsent.settled("c1", again, true)).isTrue();
    }

    /** Review 203 #3: one outcome's settlement counted for another's, and the clear took a mark in flight. */
    @Test
    void aSettlementCountsOnlyForTheOutcomeWhoseTicketItNames() {
        long earlier = unsent.sending("c1");
        assertThat(unsent.settled("c1", earlier, true)).isTrue();
        assertThat(unsent.takeAcknowledged("c1")).isTrue();
        long later = unsent.sending("c1"); // on its way, its mark journaled

        assertThat(unsent.settled("c1", earlier, true)).as("the earlier one settled again (sent again)").isFalse();
        assertThat(unsent.takeAcknowledged("c1")).as("the later one is still on its way: its mark stays").isFalse();
        assertThat(unsent.settled("c1", later, false)).isFalse();
        assertThat(unsent.takeBack("c1")).as("it failed: said again").isTrue();
    }

    @Test
    void anOutcomeSentBeforeItsContainerWasForgottenCountsForNoneOfTheIdUsedAgain() {
        long before = unsent.sending("c1");
        unsent.forget("c1"); // released; the id comes back (podman restart keeps it)
        long after = unsent.sending("c1");

        assertThat(unsent.settled("c1", before, true)).isFalse();
        assertThat(unsent.takeAcknowledged("c1")).as("the new one is still on its way").isFalse();
        assertThat(unsent.settled("c1", after, true)).isTrue();
    }

    @Test
    void anOutcomeInFlightWhenItsContainerIsForgottenLeavesNothingBehindOnceItSettles() {
        long ticket = unsent.sending("c1");
        unsent.forget("c1");

        assertThat(unsent.settled("c1", ticket, false)).isFalse();
        assertThat(unsent.takeBack("c1")).as("its outcome settled after it was forgotten").isFalse();
        assertThat(unsent.nothingKnown("c1")).isTrue();
    }
}
