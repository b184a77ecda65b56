package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.testkit.MutableClock;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/**
 * The oldest unacknowledged record's age, which readiness holds against the stall timeout, counts
 * from when this instance first took the record, across recreations of its clients.
 */
class PartitionMonitorTest {
    private static final TopicPartition TP = new TopicPartition("sandbox.container-events", 3);
    private static final Duration STALL = Duration.ofMinutes(2);

    private final MutableClock clock = new MutableClock(Instant.parse("2026-12-04T03:00:00Z"));
    private final PartitionMonitor monitor = new PartitionMonitor(new SimpleMeterRegistry(), clock);
    private final MockConsumer<byte[], byte[]> consumer = new MockConsumer<>(OffsetResetStrategy.EARLIEST);

    /** The clients recreated: a new book for the partition, the record read again from the last commit. */
    private PartitionOffsets readAgain(long offset) {
        monitor.forget(TP); // the book is cleared with the clients
        PartitionOffsets po = new PartitionOffsets(TP, clock);
        po.track(offset);
        return po;
    }

    @Test
    void aRecordReadAgainAfterEachRecreationOfTheClientsIsAStallOnceItsFirstTakingIsOlderThanTheBound() {
        for (int cycle = 0; cycle < 2; cycle++) { // its outcome's send fails after a minute, every time
            monitor.forget(TP);
            monitor.update(consumer, List.of(new PartitionOffsets(TP, clock))); // reassigned, not read again yet
            monitor.update(consumer, List.of(readAgain(1207)));
            assertThat(monitor.stalled(STALL)).as("cycle %d", cycle).isEmpty();
            clock.advance(Duration.ofSeconds(61));
        }

        monitor.update(consumer, List.of(readAgain(1207)));

        assertThat(monitor.stalled(STALL)).hasValueSatisfying(why -> assertThat(why).isEqualTo(
                "the oldest unacknowledged record (sandbox.container-events-3 offset 1207) has waited 122 s, more "
                        + "than the stall timeout of 120 s"));
    }

    @Test
    void aPartitionThatMovesOnCountsItsNextRecordFromWhenThatWasTaken() {
        monitor.update(consumer, List.of(readAgain(1207)));
        clock.advance(Duration.ofSeconds(100));
        PartitionOffsets po = readAgain(1208); // 1207 was committed meanwhile
        monitor.update(consumer, List.of(po));
        clock.advance(Duration.ofSeconds(100));
        assertThat(monitor.stalled(STALL)).isEmpty();
        assertThat(monitor.oldestAgeMillis()).isEqualTo(100_000);

        po.done(1208);
        po.committed(1209);
        monitor.update(consumer, List.of(po)); // nothing outstanding: the memory goes
        monitor.update(consumer, List.of(readAgain(1208)));
        assertThat(monitor.oldestAgeMillis()).isZero();
    }
}
