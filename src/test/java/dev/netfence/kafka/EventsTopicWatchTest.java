package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.common.Uuid;
import org.junit.jupiter.api.Test;

class EventsTopicWatchTest {
    private static final Uuid FIRST = Uuid.fromString("AAAAAAAAAAAAAAAAAAAAAQ");
    private static final Uuid SECOND = Uuid.fromString("AAAAAAAAAAAAAAAAAAAAAg");

    @Test
    void theTopicIsDescribedEveryFifthRoundFromTheFirstAndEveryRoundWhileItIsMissing() {
        EventsTopicWatch watch = new EventsTopicWatch("events", true);
        StringBuilder due = new StringBuilder();
        for (int round = 0; round < 11; round++) {
            due.append(watch.due() ? 'x' : '.');
        }
        assertThat(due).hasToString("x....x....x");

        watch.check(t -> Optional.empty());
        assertThat(watch.due()).isTrue();
        assertThat(watch.due()).isTrue();
        watch.check(t -> Optional.of(FIRST));
        assertThat(watch.due()).as("round 13").isFalse();
    }

    @Test
    void theSameTopicRoundAfterRoundIsNothingToReport() {
        EventsTopicWatch watch = new EventsTopicWatch("events", true);
        watch.check(t -> Optional.of(FIRST));
        watch.check(t -> Optional.of(FIRST));
        assertThat(watch.reason()).isEmpty();
    }

    @Test
    void aMissingTopicIsReportedWhereAskedUntilItIsThereAgain() {
        EventsTopicWatch group = new EventsTopicWatch("events", true);
        EventsTopicWatch node = new EventsTopicWatch("events", false);
        for (EventsTopicWatch w : new EventsTopicWatch[] {group, node}) {
            w.check(t -> Optional.of(FIRST));
            w.check(t -> Optional.empty());
        }
        assertThat(group.reason()).contains(
                "events topic events is missing from the broker (deleted?): no event is read until it is made again");
        assertThat(node.reason()).as("node-partition mode: the consumer's metadata reports it").isEmpty();

        group.check(t -> Optional.of(FIRST));
        assertThat(group.reason()).isEmpty();
    }

    @Test
    void aTopicMadeAgainUnderAnotherIdIsReportedUntilARestartWhateverComesAfter() {
        EventsTopicWatch watch = new EventsTopicWatch("events", false);
        watch.check(t -> Optional.of(FIRST));
        watch.check(t -> Optional.empty());
        watch.check(t -> Optional.of(SECOND));
        String expected = "events topic events was deleted and made again while this instance read it (topic id " + FIRST
                + ", now " + SECOND + "): the positions kept from the old topic may have skipped the new one's first"
                + " records; replay them (netfence replay) and restart netfence to read the topic as it is now";
        assertThat(watch.reason()).contains(expected);

        watch.check(t -> Optional.of(SECOND));
        watch.check(t -> Optional.empty());
        assertThat(watch.reason()).contains(expected);
    }

    @Test
    void aRoundWithoutAnAnswerChangesNothing() {
        EventsTopicWatch watch = new EventsTopicWatch("events", true);
        watch.check(t -> Optional.of(FIRST));
        watch.check(t -> {
            throw new TimeoutException("no answer in 3 s");
        });
        assertThat(watch.reason()).isEmpty();
        watch.check(t -> Optional.empty());
        watch.check(t -> {
            throw new TimeoutException("no answer in 3 s");
        });
        assertThat(watch.reason()).hasValueSatisfying(r -> assertThat(r).contains("is missing from the broker"));
    }
}
