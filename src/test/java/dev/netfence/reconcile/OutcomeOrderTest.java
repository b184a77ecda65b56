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
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class OutcomeOrderTest {
    private final MutableClock clock = new MutableClock(Instant.parse("2026-12-01T03:00:00Z"));
    private final Outcomes outcomes = new Outcomes(clock, "node-1/1", "test");
    private final List<Outcome> sent = new CopyOnWriteArrayList<>();
    private final OutcomeOrder order = new OutcomeOrder(sent::add, clock);

    @Test
    void aReconcilerOutcomeWithNoEventOutstandingIsSentAtOnce() {
        Outcome drift = correction("c1");
        order.publish(drift);
        assertThat(sent).containsExactly(drift);
    }

    @Test
    void reconcilerOutcomesFollowTheLastOutstandingEventOutcomeOfTheirContainerInOrder() {
        order.expect("c1", "ev-1");
        order.expect("c1", "ev-2");
        Outcome first = correction("c1");
        Outcome second = correction("c1");
        Outcome other = correction("c2");
        order.publish(first);
        order.publish(other);
        order.publish(second);
        assertThat(sent).containsExactly(other);

        order.published(eventOutcome("c1", "ev-1"));
        assertThat(sent).containsExactly(other);
        order.published(correction("c1")); // an outcome without event id is no event's
        assertThat(sent).containsExactly(other);
        order.published(eventOutcome("c1", "ev-invalid")); // an invalid event's: never expected
        assertThat(sent).as("held behind ev-2 still").containsExactly(other);
        order.published(eventOutcome("c1", "ev-2"));
        assertThat(sent).containsExactly(other, first, second);
        assertThat(order.outstanding()).isZero();
    }

    @Test
    void anEventOutcomeNeverReportedReleasesTheHeldOnesAfterTheHold() {
        order.expect("c1", "ev-1");
        Outcome held = correction("c1");
        order.publish(held);
        order.expire();
        assertThat(sent).isEmpty();

        clock.advance(OutcomeOrder.HOLD.plus(Duration.ofSeconds(1)));
        order.expire();
        assertThat(sent).containsExactly(held);
        assertThat(order.outstanding()).isZero();
    }

    @Test
    void theTimerReleasesHeldOutcomesAfterTheHoldWithoutAnyoneAsking() {
        order.expect("c1", "ev-1");
        Outcome held = correction("c1");
        order.publish(held);
        clock.advance(OutcomeOrder.HOLD.plus(Duration.ofSeconds(1)));

        order.expireEvery(Duration.ofMillis(20));
        try {
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> sent.contains(held));
        } finally {
            order.close();
        }
    }

    @Test
    void theHoldOfAnEventCountsFromWhenItWasHandledNotFromBeforeItsApply() {
        order.expect("c1", "ev-1");
        clock.advance(Duration.ofSeconds(29)); // an apply retried until its deadline
        order.handled("c1", "ev-1");
        Outcome update = correction("c1"); // a policy update queued right after it
        order.publish(update);

        clock.advance(Duration.ofSeconds(2));
        order.expire();
        assertThat(sent).as("still behind the event's outcome, not yet due").isEmpty();
        order.published(eventOutcome("c1", "ev-1"));
        assertThat(sent).containsExactly(update);
    }

    @Test
    void closingSendsWhatIsStillHeld() {
        order.expect("c1", "ev-1");
        Outcome held = correction("c1");
        order.publish(held);

        order.close();

        assertThat(sent).containsExactly(held);
        assertThat(order.outstanding()).isZero();
    }

    @Test
    void anEventsOutcomeWaitsUntilTheReconcilerOutcomePublishedBeforeItIsAcknowledged() {
        Acks acks = new Acks();
        OutcomeOrder tracked = new OutcomeOrder(acks, clock);
        Outcome drift = correction("c1");
        tracked.publish(drift);
        tracked.expect("c1", "ev-stop");

        java.util.concurrent.CompletableFuture<Void> ready = tracked.ready("c1", "ev-stop");
        assertThat(acks.sent).containsExactly(drift);
        assertThat(ready).as("the correction is not acknowledged yet").isNotDone();
        assertThat(tracked.ready("c2", "ev-other")).as("another container's event").isDone();
        assertThat(tracked.ready("c1", "ev-never-expected")).isDone();

        acks.settle(0);
        assertThat(ready).isDone();
        tracked.published(eventOutcome("c1", "ev-stop"));
        assertThat(tracked.outstanding()).isZero();
    }

    @Test
    void aReconcilerOutcomeHeldBehindOneEventIsNotHeldBehindTheEventsThatCameAfterIt() {
        Acks acks = new Acks();
        OutcomeOrder tracked = new OutcomeOrder(acks, clock);
        tracked.expect("c1", "ev-start");
        Outcome update = correction("c1"); // a policy update applied right after the start
        tracked.publish(update);
        tracked.expect("c1", "ev-stop"); // then the container stops
        assertThat(tracked.ready("c1", "ev-start")).as("nothing before the start").isDone();
        java.util.concurrent.CompletableFuture<Void> stop = tracked.ready("c1", "ev-stop");

        tracked.published(eventOutcome("c1", "ev-start"));
        assertThat(acks.sent).as("after the start's outcome, before the stop's").containsExactly(update);
        assertThat(stop).isNotDone();
        acks.settle(0);
        assertThat(stop).as("the stop's outcome goes after the update's").isDone();
    }

    @Test
    void aReconcilerOutcomeNeverAcknowledgedLetsTheEventsOutcomeGoAfterTheHold() {
        Acks acks = new Acks();
        OutcomeOrder tracked = new OutcomeOrder(acks, clock);
        tracked.publish(correction("c1"));
        tracked.expect("c1", "ev-stop");
        java.util.concurrent.CompletableFuture<Void> stop = tracked.ready("c1", "ev-stop");
        tracked.expire();
        assertThat(stop).isNotDone();

        clock.advance(OutcomeOrder.HOLD.plus(Duration.ofSeconds(1)));
        tracked.expire();
        assertThat(stop).isDone();
    }

    @Test
    void closingLetsEveryWaitingEventOutcomeGo() {
        Acks acks = new Acks();
        OutcomeOrder tracked = new OutcomeOrder(acks, clock);
        tracked.publish(correction("c1"));
        tracked.expect("c1", "ev-stop");
        java.util.concurrent.CompletableFuture<Void> stop = tracked.ready("c1", "ev-stop");

        tracked.close();

        assertThat(stop).isDone();
    }

    @Test
    void aSentCorrectionHoldsTheEventsBehindItUntilItsPublisherSettlesItNotOnlyTheHold() {
        Acks acks = new Acks(Duration.ofMinutes(3)); // a broker that may still take it within three minutes
        OutcomeOrder tracked = new OutcomeOrder(acks, clock);
        tracked.publish(correction("c1"));
        tracked.expect("c1", "ev-stop");
        java.util.concurrent.CompletableFuture<Void> stop = tracked.ready("c1", "ev-stop");
        tracked.publish(correction("c2"));
        tracked.expect("c2", "ev-stop");
        java.util.concurrent.CompletableFuture<Void> otherStop = tracked.ready("c2", "ev-stop");

        clock.advance(OutcomeOrder.HOLD.plus(Duration.ofSeconds(30)));
        tracked.expire();
        assertThat(stop).as("the drift outcome may still land: the stop's would land before it").isNotDone();
        acks.settle(0);
        assertThat(stop).isDone();

        clock.advance(Duration.ofMinutes(3).plus(OutcomeOrder.SETTLE_MARGIN).minus(OutcomeOrder.HOLD));
        tracked.expire();
        assertThat(otherStop).as("settled past the publisher's bound: given up").isDone();
    }

    @Test
    void anEventOutcomeWaitingBehindACorrectionIsNotCountedOutSoALaterCorrectionCannotOvertakeIt() {
        Acks acks = new Acks();
        OutcomeOrder tracked = new OutcomeOrder(acks, clock);
        tracked.expect("c1", "ev-0");
        tracked.handled("c1", "ev-0");
        assertThat(tracked.ready("c1", "ev-0")).isDone();
        Outcome first = correction("c1");
        tracked.publish(first); // held behind ev-0, whose acknowledgement is slow
        tracked.expect("c1", "ev-1");
        clock.advance(Duration.ofSeconds(2));
        tracked.handled("c1", "ev-1");
        java.util.concurrent.CompletableFuture<Void> ev1 = tracked.ready("c1", "ev-1");
        clock.advance(Duration.ofSeconds(17));
        tracked.published(eventOutcome("c1", "ev-0"));
        assertThat(acks.sent).containsExactly(first);
        clock.advance(Duration.ofSeconds(6));
        Outcome second = correction("c1");
        tracked.publish(second); // a policy update, after ev-1

        clock.advance(Duration.ofSeconds(8)); // over 30 s after ev-1 was handled
        tracked.expire();
        assertThat(acks.sent).as("ev-1's outcome has not gone yet: the update must not overtake it")
                .containsExactly(first);

        clock.advance(Duration.ofSeconds(7));
        acks.settle(0);
        assertThat(ev1).isDone();
        clock.advance(OutcomeOrder.HOLD.minus(Duration.ofSeconds(1)));
        tracked.expire();
        assertThat(acks.sent).as("ev-1's hold counts from when its turn came").containsExactly(first);
        tracked.published(eventOutcome("c1", "ev-1"));
        assertThat(acks.sent).containsExactly(first, second);
    }

    @Test
    void anEventHandledAgainIsOrderedAsItsNewHandlingNotByItsStaleEntry() {
        Acks acks = new Acks();
        OutcomeOrder tracked = new OutcomeOrder(acks, clock);
        tracked.expect("c1", "ev-1");
        tracked.handled("c1", "ev-1");
        assertThat(tracked.ready("c1", "ev-1")).isDone();
        Outcome update = correction("c1");
        tracked.publish(update); // held behind ev-1, whose send then fails for good: no report

        tracked.expect("c1", "ev-1"); // read and handled again
        tracked.handled("c1", "ev-1");
        java.util.concurrent.CompletableFuture<Void> again = tracked.ready("c1", "ev-1");
        assertThat(acks.sent).as("the stale entry no longer holds the update").containsExactly(update);
        assertThat(again).as("the new handling's outcome follows the update").isNotDone();
        acks.settle(0);
        assertThat(again).isDone();
        tracked.published(eventOutcome("c1", "ev-1"));
        assertThat(tracked.outstanding()).as("nothing left to hold later corrections").isZero();
    }

    @Test
    void beforeTheDrainEveryEventOutcomeGoesButCorrectionsStillFollowTheEventsBeforeThem() {
        Acks acks = new Acks();
        OutcomeOrder tracked = new OutcomeOrder(acks, clock);
        tracked.publish(correction("c1"));
        tracked.expect("c1", "ev-stop");
        java.util.concurrent.CompletableFuture<Void> stop = tracked.ready("c1", "ev-stop");
        tracked.expect("c2", "ev-start");
        assertThat(tracked.ready("c2", "ev-start")).isDone();
        Outcome update = correction("c2"); // applied after the start, whose outcome the drain will publish
        tracked.publish(update);

        tracked.releaseEvents();

        assertThat(stop).as("no acknowledgement waited for").isDone();
        tracked.expect("c1", "ev-next");
        assertThat(tracked.ready("c1", "ev-next")).isDone();
        assertThat(acks.sent).as("still behind the start's outcome").doesNotContain(update);
        tracked.published(eventOutcome("c2", "ev-start"));
        assertThat(acks.sent).endsWith(update);
    }

    @Test
    void closedItSendsWhatIsHeldAndHoldsNothingAnyMore() {
        Acks acks = new Acks();
        OutcomeOrder tracked = new OutcomeOrder(acks, clock);
        tracked.expect("c1", "ev-start");
        Outcome held = correction("c1");
        tracked.publish(held);

        tracked.close();

        assertThat(acks.sent).containsExactly(held);
        tracked.expect("c2", "ev-start");
        Outcome later = correction("c2");
        tracked.publish(later);
        assertThat(acks.sent).as("sent at once though its container's event is out").containsExactly(held, later);
        assertThat(tracked.outstanding()).isZero();
    }

    @Test
    void anEventCountedOutAndHandledAgainIsOrderedAsItsNewHandlingOnly() {
        order.expect("c1", "ev-1");
        Outcome update = correction("c1");
        order.publish(update);
        clock.advance(OutcomeOrder.HOLD.plus(Duration.ofSeconds(1)));
        order.expire();
        order.expect("c1", "ev-1"); // redelivered and handled again

        order.published(eventOutcome("c1", "ev-1"));

        assertThat(sent).as("the new handling's outcome follows the update already").containsExactly(update);
        assertThat(order.outstanding()).isZero();
    }

    /** A publisher whose acknowledgements the test settles. */
    private static final class Acks implements OutcomePublisher {
        final List<Outcome> sent = new CopyOnWriteArrayList<>();
        final List<java.util.concurrent.CompletableFuture<Void>> pending = new CopyOnWriteArrayList<>();
        final Duration settlesWithin;

        Acks() {
            this(Duration.ZERO);
        }

        Acks(Duration settlesWithin) {
            this.settlesWithin = settlesWithin;
        }

        @Override
        public Duration settlesWithin() {
            return settlesWithin;
        }

        @Override
        public void publish(Outcome outcome) {
            publishTracked(outcome);
        }

        @Override
        public java.util.concurrent.CompletableFuture<Void> publishTracked(Outcome outcome) {
            sent.add(outcome);
            java.util.concurrent.CompletableFuture<Void> acked = new java.util.concurrent.CompletableFuture<>();
            pending.add(acked);
            return acked;
        }

        void settle(int index) {
            pending.get(index).complete(null);
        }
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
