package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.netns.NamespaceId;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * When {@link OutcomeMarks} writes a live-set entry's mark of an outcome not acknowledged away: once
 * every outcome of the container sent here is acknowledged, never while this instance stands by,
 * and what it keeps of a container whose entry is gone.
 */
class OutcomeMarksTest {
    private final List<LiveContainer> written = new CopyOnWriteArrayList<>();
    private final LiveSet live = new LiveSet(new LiveSetJournal() {
        @Override
        public void record(LiveContainer c) {
            written.add(c);
        }

        @Override
        public void remove(String containerId) {
        }
    }, new SimpleMeterRegistry());
    private final UnsentOutcomes unsent = new UnsentOutcomes();
    private volatile boolean standingBy;
    private final OutcomeMarks marks = new OutcomeMarks(live, new ContainerLocks(), unsent, () -> standingBy);

    @AfterEach
    void tearDown() {
        marks.close();
    }

    @Test
    void theMarkIsWrittenAwayOnceItsOutcomeIsAcknowledged() {
        live.put(marked("c1"));
        long ticket = marks.sending("c1");

        marks.settled("c1", ticket, true);

        await().atMost(Duration.ofSeconds(5)).until(() -> !live.get("c1").orElseThrow().outcomeUnacknowledged());
        assertThat(written).last().satisfies(c -> assertThat(c.outcomeUnacknowledged()).isFalse());
    }

    /** Review 203 #1: what a fenced instance knows may be stale; it writes no entry, the mark stays. */
    @Test
    void nothingIsWrittenWhileThisInstanceStandsByAndTheMarkStays() {
        live.put(marked("c1"));
        written.clear();
        long ticket = marks.sending("c1");
        standingBy = true;

        marks.settled("c1", ticket, true);

        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(written::isEmpty);
        assertThat(live.get("c1")).hasValueSatisfying(c -> assertThat(c.outcomeUnacknowledged()).isTrue());
    }

    /** Review 203 #2: a clear that finds the entry gone kept the container's acknowledgement for good. */
    @Test
    void aClearThatFindsNoEntryKeepsNothingOfTheContainer() {
        long ticket = marks.sending("c1");

        marks.settled("c1", ticket, true);

        await().atMost(Duration.ofSeconds(5)).until(() -> unsent.nothingKnown("c1"));
        assertThat(written).isEmpty();
    }

    private static LiveContainer marked(String id) {
        return new LiveContainer(id, "task-1", "node-1", "podman", 4242, new NamespaceId(4, 4026531001L), null,
                "sha256:a", null, false, "nft", Map.of(), Instant.parse("2026-12-05T05:00:00Z")).unacknowledged(true);
    }
}
