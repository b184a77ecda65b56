package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.event.ContainerEvent;
import dev.netfence.event.Outcome;
import dev.netfence.event.Outcomes;
import dev.netfence.event.Trigger;
import dev.netfence.testkit.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * {@link OutcomeOrder} for an event outcome reported after its hold counted it out ({@link
 * LateOutcomes}): the correction that went out past it is sent again after it, and only then.
 */
class OutcomeOrderLateTest {
    private final MutableClock clock = new MutableClock(Instant.parse("2026-12-01T03:00:00Z"));
    private final Outcomes outcomes = new Outcomes(clock, "node-1/1", "test");
    private final List<Outcome> sent = new CopyOnWriteArrayList<>();
    private final OutcomeOrder order = new OutcomeOrder(sent::add, clock);

    @Test
    void anEventOutcomeReportedAfterItsHoldIsFollowedAgainByTheCorrectionThatWentOutPastIt() {
        order.expect("c1", "ev-1");
        order.handled("c1", "ev-1");
        Outcome update = correction("c1"); // a policy update applied right after the start
        order.publish(update);
        clock.advance(OutcomeOrder.HOLD.plus(Duration.ofSeconds(1)));
        order.expire();
        assertThat(sent).as("released by the hold").containsExactly(update);

        order.published(eventOutcome("c1", "ev-1")); // the start's outcome lands after all, behind the update

        assertThat(sent).as("the update again, so the current state is last").containsExactly(update, update);
        order.published(eventOutcome("c1", "ev-1"));
        assertThat(sent).as("once").containsExactly(update, update);
        assertThat(order.outstanding()).isZero();
    }

    @Test
    void aLateEventOutcomeThatWasDroppedNotSentIsFollowedByNothing() {
        order.expect("c1", "ev-1");
        Outcome update = correction("c1");
        order.publish(update);
        clock.advance(OutcomeOrder.HOLD.plus(Duration.ofSeconds(1)));
        order.expire();

        order.dropped(eventOutcome("c1", "ev-1")); // a dead letter replaced it: nothing landed behind the update
        order.published(eventOutcome("c1", "ev-1"));

        assertThat(sent).containsExactly(update);
    }

    @Test
    void aLateEventOutcomeIsNotFollowedByACorrectionWhenAnotherEventOfItsContainerCameSince() {
        order.expect("c1", "ev-start");
        Outcome update = correction("c1");
        order.publish(update);
        clock.advance(OutcomeOrder.HOLD.plus(Duration.ofSeconds(1)));
        order.expire();
        order.expect("c1", "ev-stop"); // its outcome comes after the start's through the same producer, and is newer

        order.published(eventOutcome("c1", "ev-start"));
        order.published(eventOutcome("c1", "ev-stop"));

        assertThat(sent).as("the stop's outcome is the current state, not the update").containsExactly(update);
        assertThat(order.outstanding()).isZero();
    }

    @Test
    void aLateEventOutcomeIsNotFollowedByACorrectionThatHadAnEventQueuedBehindItBeforeItWent() {
        order.expect("c1", "ev-start");
        Outcome update = correction("c1"); // held behind the start
        order.publish(update);
        order.expect("c1", "ev-stop"); // the stop, queued behind the update before the hold ran out
        clock.advance(OutcomeOrder.HOLD.plus(Duration.ofSeconds(1)));
        order.expire();
        assertThat(sent).containsExactly(update);

        order.published(eventOutcome("c1", "ev-start")); // late, then the stop's, through the same producer
        order.published(eventOutcome("c1", "ev-stop"));

        assertThat(sent).as("the stop's outcome is the current state").containsExactly(update);
        assertThat(order.outstanding()).isZero();
    }

    @Test
    void aLateEventOutcomeWithNoCorrectionPastItOrRememberedTooLongSendsNothing() {
        order.expect("c1", "ev-1");
        order.expect("c2", "ev-2");
        clock.advance(OutcomeOrder.HOLD.plus(Duration.ofSeconds(1)));
        order.expire();
        order.published(eventOutcome("c1", "ev-1"));
        assertThat(sent).as("nothing went out past it").isEmpty();

        Outcome drift = correction("c2");
        order.publish(drift);
        assertThat(sent).containsExactly(drift);
        clock.advance(LateOutcomes.KEPT.plus(Duration.ofSeconds(1)));
        order.expire();
        order.published(eventOutcome("c2", "ev-2"));
        assertThat(sent).as("forgotten after " + LateOutcomes.KEPT).containsExactly(drift);
    }

    /**
     * Review 203 #3: the correction sent again after a late event outcome is no outcome the marks
     * counted, so its acknowledgement does not count for the one sent after it: that one's mark
     * stays while it is on its way, and its failure is said again.
     */
    @Test
    void aCorrectionSentAgainAfterALateEventOutcomeDoesNotSettleTheOneSentAfterIt() {
        List<CompletableFuture<Void>> acks = new CopyOnWriteArrayList<>();
        OutcomeOrder tracked = new OutcomeOrder(new OutcomePublisher() {
            @Override
            public void publish(Outcome outcome) {
                publishTracked(outcome);
            }

            @Override
            public CompletableFuture<Void> publishTracked(Outcome outcome) {
                sent.add(outcome);
                CompletableFuture<Void> acked = new CompletableFuture<>();
                acks.add(acked);
                return acked;
            }
        }, clock);
        UnsentOutcomes unsent = new UnsentOutcomes();
        tracked.expect("c1", "ev-1");
        tracked.handled("c1", "ev-1");
        Outcome update = correction("c1");
        long first = unsent.sending("c1");
        tracked.publish(update, published -> unsent.settled("c1", first, published));
        clock.advance(OutcomeOrder.HOLD.plus(Duration.ofSeconds(1)));
        tracked.expire();
        acks.get(0).complete(null);
        assertThat(unsent.takeAcknowledged("c1")).as("the update acknowledged: its mark written away").isTrue();

        tracked.published(eventOutcome("c1", "ev-1")); // the update again, behind the late start outcome
        Outcome drift = correction("c1"); // a later correction, its mark journaled, on its way
        long second = unsent.sending("c1");
        tracked.publish(drift, published -> unsent.settled("c1", second, published));
        assertThat(sent).containsExactly(update, update, drift);
        acks.get(1).complete(null); // the update sent again is acknowledged

        assertThat(unsent.takeAcknowledged("c1")).as("the drift outcome is still on its way: its mark stays").isFalse();
        acks.get(2).completeExceptionally(new IllegalStateException("refused for good"));
        assertThat(unsent.takeBack("c1")).as("its failure is said again").isTrue();
    }

    private Outcome correction(String containerId) {
        return outcomes.reconciled(containerId, "task-1", "node-1", EnforcementResult.applied().build(), Trigger.DRIFT);
    }

    private Outcome eventOutcome(String containerId, String eventId) {
        ContainerEvent ev = new ContainerEvent(1, ContainerEvent.CONTAINER_STARTED, eventId, clock.instant(), "node-1",
                "task-1", containerId, null, 1);
        return outcomes.of(ev, EnforcementResult.applied().build(), false);
    }
}
