package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.event.Outcome;
import dev.netfence.event.Outcomes;
import dev.netfence.event.Trigger;
import dev.netfence.testkit.MutableClock;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What a correction's outcomes leave in {@link UnsentOutcomes} ({@link CorrectionOutcomes}), in the
 * order production hands them over: a released container's {@code removed} outcome comes after its
 * release (review 203 #2: the container was forgotten first, and the settlement of its
 * {@code removed} outcome stayed behind for the life of the process).
 */
class CorrectionOutcomesTest {
    private final MutableClock clock = new MutableClock(Instant.parse("2026-12-01T03:00:00Z"));
    private final Outcomes outcomes = new Outcomes(clock, "node-1/1", "test");
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final List<CompletableFuture<Void>> acks = new CopyOnWriteArrayList<>();
    private final OutcomeOrder order = new OutcomeOrder(new OutcomePublisher() {
        @Override
        public void publish(Outcome outcome) {
            publishTracked(outcome);
        }

        @Override
        public CompletableFuture<Void> publishTracked(Outcome outcome) {
            CompletableFuture<Void> acked = new CompletableFuture<>();
            acks.add(acked);
            return acked;
        }
    }, clock);
    private final UnsentOutcomes unsent = new UnsentOutcomes();
    private final OutcomeMarks marks = new OutcomeMarks(new LiveSet(new LiveSetJournal() {
        @Override
        public void record(LiveContainer c) {
        }

        @Override
        public void remove(String containerId) {
        }
    }, registry), new ContainerLocks(), unsent, () -> false);
    private final CorrectionOutcomes out = new CorrectionOutcomes(order, marks, registry);

    @AfterEach
    void tearDown() {
        marks.close();
    }

    @Test
    void aContainerReleasedLeavesNothingOfItsOutcomesOnceTheySettle() {
        out.accept(drift("c1")); // a correction on its way
        out.accept(outcomes.released("c1", "task-1", "node-1", Trigger.DRIFT)); // then the container is found gone

        acks.forEach(a -> a.complete(null));

        assertThat(acks).hasSize(2);
        assertThat(unsent.nothingKnown("c1")).isTrue();
    }

    @Test
    void aRemovedOutcomeTheTopicRefusedLeavesNothingToSayAgainOfTheId() {
        out.accept(outcomes.released("c1", "task-1", "node-1", Trigger.DRIFT));

        acks.get(0).completeExceptionally(new IllegalStateException("refused for good"));

        assertThat(unsent.takeBack("c1")).as("the id that comes back has published nothing yet").isFalse();
        assertThat(unsent.nothingKnown("c1")).isTrue();
        assertThat(registry.counter("netfence.reconcile.outcomes", "trigger", "drift", "status", "removed").count())
                .isEqualTo(1);
    }

    @Test
    void anOutcomeOfAContainerStillLiveIsCountedAndItsFailureSaidAgain() {
        out.accept(drift("c1"));
        assertThat(unsent.nothingKnown("c1")).as("on its way").isFalse();

        acks.get(0).completeExceptionally(new IllegalStateException("refused for good"));

        assertThat(unsent.takeBack("c1")).isTrue();
    }

    private Outcome drift(String containerId) {
        return outcomes.reconciled(containerId, "task-1", "node-1", EnforcementResult.applied().build(), Trigger.DRIFT);
    }
}
