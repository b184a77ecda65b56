package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.netfence.event.OutcomeCodec;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A stop's and a revoke's synchronous exactly-once commit ends within its bound while the broker
 * does not answer: MockProducer's {@code commitTransaction} here blocks the way the real one does
 * while the broker is away (up to {@code max.block.ms}, five attempts), and returns, as the real
 * one does, with "The producer closed forcefully" once the producer is closed.
 */
@Timeout(60)
class BoundedSyncCommitsTest {
    private static final TopicPartition TP = new TopicPartition("events", 0);
    private static final Duration BOUND = Duration.ofMillis(300);

    private final PipelineMetrics metrics = new PipelineMetrics(new SimpleMeterRegistry(), Clock.systemUTC());
    private final OutputRecords records = new OutputRecords(new OutcomeCodec(), "outcomes", "events.dlq", "n1/1", "n1");
    private final SendHealth health = new SendHealth(Clock.systemUTC(), Duration.ofSeconds(30));
    private final MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("earliest");

    @Test
    void aSynchronousCommitTheBrokerDoesNotAnswerEndsAtItsBoundWithTheProducerClosedAndNothingCommitted() {
        Stalled producer = new Stalled(Long.MAX_VALUE);
        BoundedSyncCommits sink = new BoundedSyncCommits(new TransactionalSink(producer, consumer, metrics, records,
                health), producer, BOUND);
        PartitionOffsets po = partitionWith(sink, "a", "b");

        assertThatThrownBy(() -> sink.commit(List.of(po), true)).isInstanceOf(OutputSink.FatalClientException.class)
                .hasMessageContaining("did not finish within " + BOUND);

        assertThat(producer.closed()).isTrue();
        assertThat(producer.commits).as("one commit, returned by the close, not five of max.block.ms each").isEqualTo(1);
        assertThat(po.lastCommitted()).isNegative();
        sink.close();
    }

    @Test
    void aPeriodicCommitWaitsOutASlowBrokerAndASynchronousOneInTimeLeavesTheProducerOpen() throws Exception {
        Stalled producer = new Stalled(3 * BOUND.toMillis());
        BoundedSyncCommits sink = new BoundedSyncCommits(new TransactionalSink(producer, consumer, metrics, records,
                health), producer, BOUND);
        PartitionOffsets po = partitionWith(sink, "a", "b");

        sink.commit(List.of(po), false);
        assertThat(po.lastCommitted()).isEqualTo(2);

        producer.stallMillis = 0;
        po.track(2);
        sink.emit(po, 2, List.of(deadLetter("c")));
        sink.commit(List.of(po), true);
        assertThat(po.lastCommitted()).isEqualTo(3);
        Thread.sleep(2 * BOUND.toMillis()); // the bound of the commit that finished in time must not fire later
        assertThat(producer.closed()).isFalse();
        sink.close();
    }

    /** A producer whose {@code commitTransaction} stalls {@code stallMillis}, or until the producer is closed. */
    private static final class Stalled extends MockProducer<byte[], byte[]> {
        private final CountDownLatch closing = new CountDownLatch(1);
        volatile long stallMillis;
        volatile int commits;

        Stalled(long stallMillis) {
            super(true, null, new ByteArraySerializer(), new ByteArraySerializer());
            this.stallMillis = stallMillis;
        }

        @Override
        public void commitTransaction() {
            commits++;
            try {
                if (closing.await(stallMillis, TimeUnit.MILLISECONDS)) {
                    throw new KafkaException("The producer closed forcefully");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new KafkaException(e);
            }
            super.commitTransaction();
        }

        @Override
        public void close(Duration timeout) {
            closing.countDown();
            super.close(timeout);
        }
    }

    private static PartitionOffsets partitionWith(OutputSink sink, String... keys) {
        PartitionOffsets po = new PartitionOffsets(TP);
        for (int i = 0; i < keys.length; i++) {
            po.track(i);
            sink.emit(po, i, List.of(deadLetter(keys[i])));
        }
        return po;
    }

    private static Output deadLetter(String key) {
        return Output.deadLetter(new ProducerRecord<>("events.dlq", key.getBytes(StandardCharsets.UTF_8),
                "v".getBytes(StandardCharsets.UTF_8)), "MALFORMED_EVENT");
    }
}
