package dev.netfence.policy.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/**
 * The rebuild of the store's policies when the topic changed under it, without a broker: the
 * records read again are staged, and once every partition reached its end they replace the table
 * in one step.
 */
class PartitionLedgerTest {
    private static final TopicPartition P0 = new TopicPartition("policies", 0);
    private static final TopicPartition P1 = new TopicPartition("policies", 1);
    private static final StoredPolicy OPEN = new StoredPolicy.Valid(FakePolicies.OPEN);
    private static final StoredPolicy CLOSED = new StoredPolicy.Valid(FakePolicies.CLOSED);

    private final PolicyTable table = new PolicyTable();
    private final PartitionLedger ledger = new PartitionLedger(table);
    private final List<String> changes = new CopyOnWriteArrayList<>();

    PartitionLedgerTest() {
        table.onChange(changes::add);
    }

    @Test
    void aStepBackInAPartitionIsSeenAndNothingBeforeIt() {
        ledger.record(P0, 0, 1, "task-a", Optional.of(OPEN));
        ledger.record(P0, 1, 2, "task-b", Optional.of(OPEN));
        assertThat(ledger.wentBack(P0, 2)).isFalse();
        assertThat(ledger.wentBack(P0, 1)).isTrue();
        assertThat(ledger.wentBack(P1, 0)).as("a partition not read yet").isFalse();
    }

    @Test
    void aRebuildReplacesTheTableInOneStepOnceEveryPartitionReachedItsEnd() {
        ledger.record(P0, 0, 1, "task-a", Optional.of(OPEN));
        ledger.record(P1, 0, 1, "task-b", Optional.of(OPEN));
        ledger.record(P1, 1, 1, "task-c", Optional.of(OPEN));
        changes.clear();

        ledger.rebuild(Map.of(P0, 2L, P1, 0L)); // created again: task-b and task-c are not in it
        ledger.record(P0, 0, 5, "task-a", Optional.of(OPEN));
        ledger.record(P0, 1, 6, "task-d", Optional.of(CLOSED));
        ledger.positioned(P1, 0);
        assertThat(table.taskIds()).as("nothing changes before the last partition is read")
                .containsExactlyInAnyOrder("task-a", "task-b", "task-c");
        ledger.positioned(P0, 2);

        assertThat(ledger.rebuilding()).isFalse();
        assertThat(table.taskIds()).containsExactlyInAnyOrder("task-a", "task-d");
        assertThat(changes).as("task-a's policy did not change: nobody is told")
                .containsExactlyInAnyOrder("task-b", "task-c", "task-d");
    }

    @Test
    void aTaskWhoseKeyMovedToAnotherPartitionKeepsItsPolicy() {
        ledger.record(P1, 0, 1, "task-x", Optional.of(OPEN)); // on partition 1 of the old topic
        ledger.rebuild(Map.of(P0, 1L)); // created again with one partition
        ledger.record(P0, 0, 5, "task-x", Optional.of(CLOSED));
        ledger.positioned(P0, 1);

        assertThat(table.get("task-x")).contains(CLOSED);
    }

    @Test
    void readTwiceInARebuildTheLaterRecordWinsAndATombstoneDeletes() {
        ledger.record(P0, 0, 1, "task-y", Optional.of(OPEN));
        ledger.record(P0, 1, 1, "task-z", Optional.of(OPEN));
        ledger.rebuild(Map.of(P0, 1L, P1, 2L));
        ledger.record(P1, 0, 9, "task-y", Optional.of(CLOSED));
        ledger.record(P0, 0, 3, "task-y", Optional.of(OPEN)); // older: an earlier partition count's leftover
        ledger.record(P1, 1, 9, "task-z", Optional.empty());
        ledger.positioned(P0, 1);
        ledger.positioned(P1, 2);

        assertThat(table.get("task-y")).contains(CLOSED);
        assertThat(table.get("task-z")).isEmpty();
    }

    @Test
    void inOnePartitionTheLaterRecordWinsWhateverItsTimestamp() {
        // a producer whose clock is behind wrote the newer record: a rebuild must not bring the older one back
        ledger.rebuild(Map.of(P0, 2L));
        ledger.record(P0, 0, 1000, "task-w", Optional.of(OPEN));
        ledger.record(P0, 1, 900, "task-w", Optional.of(CLOSED));
        ledger.positioned(P0, 2);

        assertThat(table.get("task-w")).contains(CLOSED);
    }

    @Test
    void anEndBelowTheOneARebuildReadsToIsSeen() {
        assertThat(ledger.endsFellBelow(Map.of(P0, 0L))).as("no rebuild").isFalse();
        ledger.rebuild(Map.of(P0, 5L, P1, 2L));
        assertThat(ledger.endsFellBelow(Map.of(P0, 7L, P1, 2L))).isFalse();
        assertThat(ledger.endsFellBelow(Map.of(P0, 7L, P1, 1L))).as("created again before the rebuild read it").isTrue();
    }

    @Test
    void acrossPartitionsTheLatestTimestampOfEachPartitionsLastRecordWinsWhateverTheReadOrder() {
        ledger.rebuild(Map.of(P0, 2L, P1, 1L));
        ledger.record(P0, 0, 2000, "task-v", Optional.of(OPEN));
        ledger.record(P1, 0, 1500, "task-v", Optional.of(CLOSED));
        ledger.record(P0, 1, 1000, "task-v", Optional.empty()); // P0's last word, older than P1's
        ledger.positioned(P0, 2);
        ledger.positioned(P1, 1);

        assertThat(table.get("task-v")).contains(CLOSED);
    }

    @Test
    void outsideARebuildAnOlderRecordOfTheTaskFromAnotherPartitionDoesNotReplaceTheOneInForce() {
        // partitions were added: task-m's key moved from P0 to P1, where its policy was then tightened
        ledger.record(P1, 0, 2000, "task-m", Optional.of(CLOSED));
        ledger.record(P0, 0, 1000, "task-m", Optional.of(OPEN)); // its old record, read after (poll order)
        assertThat(table.get("task-m")).contains(CLOSED);

        ledger.record(P1, 1, 3000, "task-d", Optional.empty());
        ledger.record(P0, 1, 1000, "task-d", Optional.of(OPEN)); // deleted on its new partition
        assertThat(table.get("task-d")).isEmpty();

        ledger.record(P0, 2, 4000, "task-m", Optional.of(OPEN)); // newer, from wherever
        assertThat(table.get("task-m")).contains(OPEN);
        ledger.record(P0, 3, 10, "task-m", Optional.of(CLOSED)); // its partition's later record, whatever the clock
        assertThat(table.get("task-m")).contains(CLOSED);
    }

    @Test
    void theFirstReadKeepsTheNewerPolicyWhateverOrderThePartitionsArePolledIn() {
        // P0, the task's former partition: an old policy stamped by a clock an hour ahead, then a tombstone; P1: the
        // policy put since. Each partition's last record decides: P1's policy, later than P0's tombstone. Before, read
        // P1 first, the stamped-ahead policy took its place and the tombstone after it deleted the task
        PolicyTable other = new PolicyTable();
        PartitionLedger p1First = new PartitionLedger(other);
        p1First.record(P1, 0, 2000, "task-t", Optional.of(CLOSED));
        p1First.record(P0, 0, 5000, "task-t", Optional.of(OPEN));
        p1First.record(P0, 1, 1000, "task-t", Optional.empty());
        assertThat(other.get("task-t")).contains(CLOSED);

        ledger.record(P0, 0, 5000, "task-t", Optional.of(OPEN));
        ledger.record(P0, 1, 1000, "task-t", Optional.empty());
        ledger.record(P1, 0, 2000, "task-t", Optional.of(CLOSED));
        assertThat(table.get("task-t")).contains(CLOSED);
    }

    @Test
    void onceTheFirstReadIsThroughEveryRecordIsNewAndReplacesTheOneInForce() {
        ledger.record(P1, 0, 2000, "task-m", Optional.of(CLOSED));
        ledger.readThrough();
        ledger.record(P0, 0, 1000, "task-m", Optional.of(OPEN)); // a writer whose clock is behind, after the start
        assertThat(table.get("task-m")).contains(OPEN);
    }

    @Test
    void afterARebuildTheRecordsItChoseAreInForceForTheReadsThatFollow() {
        ledger.rebuild(Map.of(P0, 1L, P1, 1L));
        ledger.record(P1, 0, 2000, "task-r", Optional.of(CLOSED));
        ledger.record(P0, 0, 1000, "task-r", Optional.of(OPEN));
        ledger.positioned(P0, 1);
        ledger.positioned(P1, 1);
        assertThat(table.get("task-r")).contains(CLOSED);

        ledger.record(P0, 1, 1500, "task-r", Optional.of(OPEN)); // still older than P1's, read since
        assertThat(table.get("task-r")).contains(CLOSED);
    }

    @Test
    void outsideARebuildRecordsApplyAtOnce() {
        ledger.record(P0, 0, 1, "task-a", Optional.of(OPEN));
        ledger.record(P0, 1, 2, "task-a", Optional.empty());
        ledger.skipped(P0, 2);

        assertThat(table.get("task-a")).isEmpty();
        assertThat(ledger.wentBack(P0, 2)).isTrue();
        assertThat(ledger.wentBack(P0, 3)).isFalse();
    }
}
