package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/**
 * The stop's drain: past the shutdown timeout, a record whose outcome is out but whose live-set
 * journal write is still on its way gets the stragglers' time too, so the final commit keeps it
 * (else it is redelivered and enforced again with a second outcome).
 */
class ShutdownDrainTest {
    private static final TopicPartition TP = new TopicPartition("events", 0);

    /** Records what the final commit may let go of; sends nothing. */
    private static final class CommittingSink implements OutputSink {
        final List<Long> committed = new ArrayList<>();

        @Override
        public void emit(PartitionOffsets partition, long offset, List<Output> outputs) {
            partition.done(offset);
        }

        @Override
        public void commit(Collection<PartitionOffsets> partitions, boolean sync) {
            partitions.forEach(p -> committed.add(p.committable(null)));
        }

        @Override
        public void close() {
        }
    }

    @Test
    void aRecordWaitingForItsJournalWritePastTheTimeoutIsCommittedOnceTheWriteArrivesWithinTheStragglersTime()
            throws Exception {
        Completions completions = new Completions();
        PartitionBook book = new PartitionBook(Clock.systemUTC(),
                new PartitionMonitor(new SimpleMeterRegistry(), Clock.systemUTC()));
        book.add(List.of(TP));
        PartitionOffsets po = book.get(TP);
        po.track(7);
        Runnable arrived = po.await(7);
        CommittingSink sink = new CommittingSink();
        sink.emit(po, 7, List.of());
        CompletableFuture.runAsync(() -> completions.post(arrived),
                CompletableFuture.delayedExecutor(300, TimeUnit.MILLISECONDS));
        MockConsumer<byte[], byte[]> consumer = new MockConsumer<>(OffsetResetStrategy.EARLIEST);
        consumer.assign(List.of(TP));
        consumer.updateBeginningOffsets(java.util.Map.of(TP, 0L));

        try (KeyedExecutor workers = new KeyedExecutor(1, "drain-test")) {
            new ShutdownDrain(Duration.ZERO, book, completions, workers, () -> { }).run(consumer, sink);
        }

        assertThat(sink.committed).containsExactly(8L);
    }
}
