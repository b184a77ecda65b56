package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class PartitionOffsetsTest {
    private final PartitionOffsets offsets = new PartitionOffsets(new TopicPartition("t", 0));

    @Test
    void nothingTrackedMeansNothingToCommit() {
        assertThat(offsets.committable(null)).isEqualTo(-1);
    }

    @Test
    void theCommittableOffsetStopsAtTheFirstRecordThatIsNotDone() {
        for (long o = 10; o < 15; o++) {
            offsets.track(o);
        }
        offsets.done(10);
        offsets.done(12);
        offsets.done(13);
        assertThat(offsets.committable(null)).isEqualTo(11);
        offsets.done(11);
        assertThat(offsets.committable(null)).isEqualTo(14);
        offsets.done(14);
        assertThat(offsets.committable(null)).isEqualTo(15);
        assertThat(offsets.working()).isZero();
    }

    @Test
    void aRecordSkippedAsItWasTakenIsDoneAndLeavesTheInFlightCountUntilItsCommitForgetsIt() {
        offsets.track(0);
        offsets.track(1);
        offsets.track(2);
        offsets.skipped(1);
        offsets.skipped(1);
        assertThat(offsets.inFlight()).isEqualTo(2);
        assertThat(offsets.uncommitted()).isEqualTo(3);
        assertThat(offsets.committable(null)).as("offset 0 is not done").isZero();
        offsets.done(0);
        assertThat(offsets.inFlight()).as("done, not yet committed: still counted").isEqualTo(2);
        offsets.committed(offsets.committable(null));
        assertThat(offsets.inFlight()).isEqualTo(1);
        assertThat(offsets.uncommitted()).isEqualTo(1);
        offsets.skipped(2);
        assertThat(offsets.inFlight()).isZero();
        offsets.committed(offsets.committable(null));
        assertThat(offsets.uncommitted()).isZero();
        assertThat(offsets.inFlight()).isZero();
    }

    @Test
    void doneCountsEveryRecordDoneSkippedOrHeldOnceUntilItsCommitForgetsIt() {
        offsets.track(0);
        offsets.track(1);
        offsets.track(2);
        offsets.track(3);
        offsets.done(1);
        offsets.done(1);
        offsets.skipped(2);
        offsets.hold(3, List.of());
        assertThat(offsets.done()).isEqualTo(3);
        offsets.track(3);
        assertThat(offsets.done()).as("taken again after a seek: working again").isEqualTo(2);
        offsets.done(0);
        offsets.committed(2);
        assertThat(offsets.done()).as("0 and 1 forgotten; 2 still done, uncommitted").isEqualTo(1);
        offsets.done(3);
        offsets.committed(offsets.committable(null));
        assertThat(offsets.done()).isZero();
    }

    @Test
    void aCommitForgetsThePrefixAndIsNotRepeated() {
        offsets.track(0);
        offsets.track(1);
        offsets.done(0);
        offsets.committed(offsets.committable(null));
        assertThat(offsets.uncommitted()).isEqualTo(1);
        assertThat(offsets.committable(null)).isEqualTo(-1);
        offsets.done(1);
        assertThat(offsets.committable(null)).isEqualTo(2);
    }

    @Test
    void heldOutputsOfTheDonePrefixComeOutInOffsetOrderOnly() {
        offsets.track(0);
        offsets.track(1);
        offsets.track(2);
        offsets.hold(2, List.of(output("two")));
        offsets.hold(0, List.of(output("zero-a"), output("zero-b")));
        List<Output> sink = new ArrayList<>();
        assertThat(offsets.committable(sink)).isEqualTo(1);
        assertThat(sink).extracting(o -> o.record().topic()).containsExactly("zero-a", "zero-b");
        offsets.committed(1);
        offsets.hold(1, List.of(output("one")));
        sink.clear();
        assertThat(offsets.committable(sink)).isEqualTo(3);
        assertThat(sink).extracting(o -> o.record().topic()).containsExactly("one", "two");
    }

    @Test
    void completionsForRecordsNoLongerTrackedAreIgnored() {
        offsets.track(5);
        offsets.done(5);
        offsets.committed(6);
        offsets.done(5);
        offsets.done(99);
        assertThat(offsets.isTracked(5)).isFalse();
        assertThat(offsets.committable(null)).isEqualTo(-1);
    }

    @Test
    void aRecordWhoseJournalWriteIsAwaitedIsNotCommittedUntilItArrivesWhateverItsOutputs() {
        offsets.track(0);
        offsets.track(1);
        Runnable arrived = offsets.await(0);
        offsets.done(0);
        offsets.done(1);
        assertThat(offsets.committable(null)).isZero(); // stops at it
        assertThat(offsets.working()).isEqualTo(1);
        assertThat(offsets.awaited()).isEqualTo(1);

        arrived.run();
        assertThat(offsets.committable(null)).isEqualTo(2);
        assertThat(offsets.done()).isEqualTo(2);
        arrived.run(); // once only
        assertThat(offsets.done()).isEqualTo(2);
    }

    @Test
    void aJournalWriteArrivingBeforeTheOutputsLeavesTheRecordWorkingUntilTheyAreAcknowledged() {
        offsets.track(0);
        offsets.await(0).run();
        assertThat(offsets.committable(null)).isZero(); // stops at it
        offsets.done(0);
        assertThat(offsets.committable(null)).isEqualTo(1);
    }

    @Test
    void heldOutputsOfARecordWhoseJournalWriteIsAwaitedWaitForItBeforeTheirTransaction() {
        offsets.track(0);
        Runnable arrived = offsets.await(0);
        offsets.hold(0, List.of(output("zero")));
        List<Output> sink = new ArrayList<>();
        assertThat(offsets.committable(sink)).isZero(); // stops at it
        assertThat(sink).isEmpty();

        arrived.run();
        assertThat(offsets.committable(sink)).isEqualTo(1);
        assertThat(sink).extracting(o -> o.record().topic()).containsExactly("zero");
    }

    @Test
    void anArrivalForAnEarlierTrackingOfTheRecordChangesNothingInTheNewOne() {
        offsets.track(0);
        Runnable stale = offsets.await(0);
        offsets.track(0); // sought back after a failure: taken again
        offsets.await(0);
        offsets.done(0);
        stale.run();
        assertThat(offsets.committable(null)).isZero(); // stops at it
        assertThat(offsets.done()).isZero();
    }

    private static Output output(String topic) {
        return Output.deadLetter(new ProducerRecord<>(topic, new byte[0]), "MALFORMED_EVENT");
    }
}
