package dev.netfence.policy.store;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RecordOrderTest {
    @ParameterizedTest(name = "in force p{0}@{1}, read p{2}@{3}: replaces {4}")
    @CsvSource({
        "0, 2000, 0, 10, true",      // its own partition: the later offset, whatever the clock
        "0, 2000, 1, 1000, false",   // another partition, older: a leftover of a moved key
        "0, 2000, 1, 3000, true",    // another partition, newer
        "1, 2000, 0, 2000, false",   // equal timestamps: the higher partition wins
        "0, 2000, 1, 2000, true",
        "0, -1, 1, -1, true",        // no timestamps (old record format): the higher partition
    })
    void aRecordReplacesTheOneInForceByOffsetOnItsPartitionElseByTimestampThenPartition(int inForcePartition,
            long inForceTimestamp, int partition, long timestamp, boolean replaces) {
        assertThat(RecordOrder.replaces(inForcePartition, inForceTimestamp, partition, timestamp)).isEqualTo(replaces);
    }
}
