package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.netfence.event.OutcomeCodec;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A stop's final exactly-once commit ends within its bound while the broker does not answer.
 * MockProducer's transaction calls here block the two ways the real ones do while the broker is
 * away: {@code commitTransaction} until the producer is closed (kafka-clients fails a pending
 * transition with "The producer closed forcefully"), {@code sendOffsetsToTransaction} on a request
 * in flight, which the close does not reach, until its thread is interrupted (kafka-clients throws
 * {@link InterruptException}, which sets the interrupt flag again).
 */
@Timeout(60)
class BoundedFinalCommitTest {
    private static final TopicPartition TP = new TopicPartition("events", 0);
    private static final Duration BOUND = Duration.ofMillis(300);

    private final PipelineMetrics metrics = new PipelineMetrics(new SimpleMeterRegistry(), Clock.systemUTC());
    private final OutputRecords records = new OutputRecords(new OutcomeCodec(), "outcomes", "events.dlq", "n1/1", "n1");
    private final SendHealth health = new SendHealth(Clock.systemUTC(), Duration.ofSeconds(30));
    private final MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("earliest");

    @Test
    void aFinalCommitWhoseCommitTheBrokerDoesNotAnswerEndsAtItsBoundWithTheProducerClosedAndNothingCommitted() {
        Stalled producer = new Stalled(Long.MAX_VALUE, false);
        BoundedFinalCommit sink = sink(producer);
        PartitionOffsets po = partitionWith(sink, "a", "b");

        assertThatThrownBy(() -> sink.commitFinal(List.of(po))).isInstanceOf(OutputSink.FatalClientException.class)
                .hasMessageContaining("did not finish within " + BOUND);

        assertThat(producer.closed()).isTrue();
        assertThat(producer.commits).as("one commit, returned by the close, not five of max.block.ms each").isEqualTo(1);
        assertThat(po.lastCommitted()).isNegative();
        assertThat(Thread.currentThread().isInterrupted()).as("the bound's interrupt is not left behind").isFalse();
        sink.close();
    }

    @Test
    void aFinalCommitWaitingOnARequestInFlightThatTheCloseDoesNotReachIsEndedByTheInterrupt() {
        Stalled producer = new Stalled(0, true);
        BoundedFinalCommit sink = sink(producer);
        PartitionOffsets po = partitionWith(sink, "a");

        assertThatThrownBy(() -> sink.commitFinal(List.of(po))).isInstanceOf(OutputSink.FatalClientException.class)
                .hasMessageContaining("did not finish within " + BOUND);

        assertThat(producer.closed()).isTrue();
        assertThat(po.lastCommitted()).isNegative();
        assertThat(Thread.currentThread().isInterrupted()).as("the bound's interrupt is not left behind").isFalse();
        sink.close();
    }

    @Test
    void periodicAndRevokeCommitsWaitOutASlowBrokerAndAFinalOneInTimeLeavesTheProducerOpen() throws Exception {
        Stalled producer = new Stalled(3 * BOUND.toMillis(), false);
        BoundedFinalCommit sink = sink(producer);
        PartitionOffsets po = partitionWith(sink, "a", "b");

        sink.commit(List.of(po), false);
        assertThat(po.lastCommitted()).isEqualTo(2);
        po.track(2);
        sink.emit(po, 2, List.of(deadLetter("c")));
        sink.commit(List.of(po), true); // a revoke's
        assertThat(po.lastCommitted()).isEqualTo(3);

        producer.stallMillis = 0;
        po.track(3);
        sink.emit(po, 3, List.of(deadLetter("d")));
        sink.commitFinal(List.of(po));
        assertThat(po.lastCommitted()).isEqualTo(4);
        Thread.sleep(2 * BOUND.toMillis()); // the bound of the commit that finished in time must not fire later
        assertThat(producer.closed()).isFalse();
        assertThat(Thread.currentThread().isInterrupted()).isFalse();
        sink.close();
    }

    private BoundedFinalCommit sink(Stalled producer) {
        return new BoundedFinalCommit(new TransactionalSink(producer, consumer, metrics, records, health), producer, BOUND);
    }

    /**
     * A producer whose {@code commitTransaction} stalls {@code stallMillis} or until the producer is
     * closed, and whose {@code sendOffsetsToTransaction}, with {@code offsetsInFlight}, until its
     * thread is interrupted.
     */
    private static final class Stalled extends MockProducer<byte[], byte[]> {
        private final CountDownLatch closing = new CountDownLatch(1);
        private final boolean offsetsInFlight;
        volatile long stallMillis;
        volatile int commits;

        Stalled(long stallMillis, boolean offsetsInFlight) {
            super(true, null, new ByteArraySerializer(), new ByteArraySerializer());
            this.stallMillis = stallMillis;
            this.offsetsInFlight = offsetsInFlight;
        }

        @Override
        public void sendOffsetsToTransaction(Map<TopicPartition, OffsetAndMetadata> offsets,
                ConsumerGroupMetadata group) {
            if (offsetsInFlight) {
                try {
                    Thread.sleep(Long.MAX_VALUE); // the close does not end it
                } catch (InterruptedException e) {
                    throw new InterruptException("Received interrupt while awaiting AddOffsetsToTxn", e);
                }
            }
            super.sendOffsetsToTransaction(offsets, group);
        }

        @Override
        public void commitTransaction() {
            commits++;
            try {
                if (closing.await(stallMillis, TimeUnit.MILLISECONDS)) {
                    throw new KafkaException("The producer closed forcefully");
                }
            } catch (InterruptedException e) {
                throw new InterruptException(e);
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
