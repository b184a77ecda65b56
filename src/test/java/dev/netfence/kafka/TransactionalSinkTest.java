package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.event.OutcomeCodec;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * The transaction bookkeeping of {@link TransactionalSink} with Kafka's MockProducer, for the two
 * failures the real broker cannot be made to produce on demand: a {@code commitTransaction} that
 * times out (must be retried; aborting then is illegal) and an abort that no send callback explains
 * (bisected down to the record behind it, the records before it committed).
 */
class TransactionalSinkTest {
    private static final TopicPartition TP = new TopicPartition("events", 0);

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final PipelineMetrics metrics = new PipelineMetrics(registry, Clock.systemUTC());
    private final OutputRecords records = new OutputRecords(new OutcomeCodec(), "outcomes", "events.dlq", "n1/1", "n1");
    private final SendHealth health = new SendHealth(Clock.systemUTC(), Duration.ofSeconds(30));
    private final MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("earliest");

    @Test
    void aCommitThatTimesOutIsRetriedAndTheTransactionCommittedNotAborted() {
        int[] timeouts = {2};
        MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(),
                new ByteArraySerializer()) {
            @Override
            public void commitTransaction() {
                if (timeouts[0]-- > 0) {
                    throw new TimeoutException("Timeout expired after 60000ms while awaiting EndTxn(COMMIT)");
                }
                super.commitTransaction();
            }
        };
        TransactionalSink sink = new TransactionalSink(producer, consumer, metrics, records, health);
        PartitionOffsets po = partitionWith(sink, "a", "b");

        sink.commit(List.of(po), false);

        assertThat(producer.transactionCommitted()).isTrue();
        assertThat(producer.transactionAborted()).isFalse();
        assertThat(producer.history()).hasSize(2);
        assertThat(po.lastCommitted()).isEqualTo(2);
    }

    /**
     * Review 206 #4: a {@code commitTransaction} that times out asks the watchdog before it is tried again:
     * a producer whose I/O thread died never commits, and is made again at once, not after five timeouts
     * of {@code max.block.ms} each.
     */
    @Test
    void aCommitThatTimesOutAfterTheProducersIoThreadDiedMakesTheClientsAgainAtOnce() throws Exception {
        int[] commits = {0};
        MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(),
                new ByteArraySerializer()) {
            @Override
            public void commitTransaction() {
                commits[0]++;
                throw new TimeoutException("Timeout expired after 60000ms while awaiting EndTxn(COMMIT)");
            }
        };
        ProducerWatchdog watchdog = new ProducerWatchdog(Clock.systemUTC(), List::of);
        Thread io = new Thread(() -> {
            throw new StackOverflowError();
        }, "kafka-producer-network-thread | netfence-n1");
        io.setUncaughtExceptionHandler((t, e) -> { }); // kafka-clients logs it; quiet here
        watchdog.watch(java.util.Optional.of(io), 16384, Duration.ofMinutes(2));
        io.start();
        io.join();
        TransactionalSink sink = new TransactionalSink(producer, consumer, metrics, records, health, () -> { },
                watchdog);
        PartitionOffsets po = partitionWith(sink, "a", "b");

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> sink.commit(List.of(po), false))
                .isInstanceOf(OutputSink.FatalClientException.class)
                .hasMessageContaining("the Kafka producer stopped answering (its I/O thread"
                        + " 'kafka-producer-network-thread | netfence-n1' died of java.lang.StackOverflowError)");
        assertThat(commits[0]).as("not tried again").isEqualTo(1);
        assertThat(po.lastCommitted()).isNegative();
    }

    @Test
    void anAbortNoCallbackExplainsIsBisectedSoTheRecordsBeforeTheCulpritAreCommitted() {
        MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(),
                new ByteArraySerializer()) {
            @Override
            public void commitTransaction() {
                boolean poisoned = uncommittedRecords().stream()
                        .anyMatch(r -> "poison".equals(new String(r.key(), StandardCharsets.UTF_8)));
                if (poisoned) {
                    throw new KafkaException("the transaction could not be completed");
                }
                super.commitTransaction();
            }
        };
        TransactionalSink sink = new TransactionalSink(producer, consumer, metrics, records, health);
        PartitionOffsets po = partitionWith(sink, "a", "b", "c", "d", "e", "poison", "f", "g");

        for (int attempt = 0; attempt < 12; attempt++) {
            sink.commit(List.of(po), true);
        }

        assertThat(po.lastCommitted()).as("every record before the culprit is committed").isEqualTo(5);
        assertThat(producer.history()).extracting(r -> new String(r.key(), StandardCharsets.UTF_8))
                .containsExactly("a", "b", "c", "d", "e");
        assertThat(registry.find("netfence.transactions.aborted").counter().count()).isBetween(3.0, 12.0);
    }

    @Test
    void everyCallOfATransactionThatCanBlockOnTheBrokerBeatsTheLoopsHeartbeatFirst() {
        List<String> calls = new java.util.ArrayList<>();
        int[] timeouts = {1};
        MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(),
                new ByteArraySerializer()) {
            @Override
            public synchronized java.util.concurrent.Future<org.apache.kafka.clients.producer.RecordMetadata> send(
                    ProducerRecord<byte[], byte[]> r, org.apache.kafka.clients.producer.Callback callback) {
                calls.add("send");
                return super.send(r, callback);
            }

            @Override
            public void sendOffsetsToTransaction(java.util.Map<TopicPartition,
                    org.apache.kafka.clients.consumer.OffsetAndMetadata> offsets,
                    org.apache.kafka.clients.consumer.ConsumerGroupMetadata group) {
                calls.add("offsets");
                super.sendOffsetsToTransaction(offsets, group);
            }

            @Override
            public void commitTransaction() {
                calls.add("commit");
                if (timeouts[0]-- > 0) {
                    throw new TimeoutException("Timeout expired after 60000ms while awaiting EndTxn(COMMIT)");
                }
                super.commitTransaction();
            }
        };
        TransactionalSink sink = new TransactionalSink(producer, consumer, metrics, records, health,
                () -> calls.add("beat"));
        PartitionOffsets po = partitionWith(sink, "a", "b");
        calls.clear();

        sink.commit(List.of(po), false);

        assertThat(calls).containsExactly("beat", "send", "beat", "send", "beat", "offsets", "beat", "commit", "beat",
                "commit");
        assertThat(po.lastCommitted()).isEqualTo(2);
    }

    @Test
    void aRefusedOutputSuspectedBeforeItsPartitionWasRevokedDoesNotAbortEveryTransactionOnceThePartitionIsBack() {
        MockProducer<byte[], byte[]> producer = refusing("refused");
        TransactionalSink sink = new TransactionalSink(producer, consumer, metrics, records, health);
        sink.commit(List.of(partitionWith(sink, "refused", "a")), false); // suspected; then the partition is revoked

        PartitionOffsets back = partitionWith(sink, "x", "refused", "y"); // assigned again, its records redone
        for (int round = 0; round < 6; round++) {
            sink.commit(List.of(back), false);
        }

        assertThat(back.lastCommitted()).as("the record before the refused one is committed").isGreaterThanOrEqualTo(1);
        assertThat(producer.history()).extracting(r -> new String(r.key(), StandardCharsets.UTF_8)).contains("x");
    }

    @Test
    void aHeldOutputOfAPartitionNoLongerAssignedNoLongerKeepsTheInstanceNotReady() {
        TransactionalSink sink = new TransactionalSink(refusing("refused"), consumer, metrics, records, health);
        PartitionOffsets po = partitionWith(sink, "refused");
        for (int round = 0; round < 6 && health.held() == 0; round++) {
            sink.commit(List.of(po), true);
        }
        assertThat(health.held()).as("refused alone, nothing smaller to send").isEqualTo(1);

        sink.commit(List.of(), false); // the regular round after the partition went to another instance

        assertThat(health.held()).isZero();
        assertThat(health.notReadyReason()).isEmpty();
    }

    @Test
    void anOutputRefusedForItsTimestampIsTriedAgainAsItWasNotReplacedAndCommittedOnceTheBrokerTakesIt() {
        boolean[] skewed = {true};
        // what the broker answers each record of a batch stamped by a clock an hour ahead, and the commit then
        MockProducer<byte[], byte[]> producer = refusing(r -> skewed[0], () -> new org.apache.kafka.common
                .InvalidRecordException("Timestamp 1796581314261 of message with offset 0 is out of range. The timestamp"
                        + " should be within [1796577714264, 1796581314260]"), () -> new KafkaException("the transaction"
                        + " aborted", new org.apache.kafka.common.errors.InvalidTimestampException("One or more records"
                        + " have been rejected due to invalid timestamp")));
        SendHealth health = new SendHealth(Clock.systemUTC(), Duration.ZERO); // a refusing streak counts at once
        TransactionalSink sink = new TransactionalSink(producer, consumer, metrics, records, health);
        PartitionOffsets po = partitionWith(sink, "a", "b");
        long before = po.lastCommitted();

        for (int round = 0; round < 4; round++) {
            sink.commit(List.of(po), true);
        }

        assertThat(po.lastCommitted()).as("nothing committed past a refused output").isEqualTo(before);
        assertThat(producer.history()).as("no dead letter sent instead").isEmpty();
        assertThat(health.held()).isZero();
        assertThat(health.notReadyReason()).get(org.assertj.core.api.InstanceOfAssertFactories.STRING)
                .contains("events.dlq").contains("out of range");

        skewed[0] = false;
        for (int round = 0; round < 4 && po.lastCommitted() < 2; round++) {
            sink.commit(List.of(po), true);
        }

        assertThat(po.lastCommitted()).isEqualTo(2);
        assertThat(producer.history()).extracting(r -> new String(r.key(), StandardCharsets.UTF_8))
                .containsExactly("a", "b");
        assertThat(producer.history()).allSatisfy(r -> assertThat(r.value()).as("the output itself, not a replacement")
                .isNotNull());
        assertThat(health.notReadyReason()).isEmpty();
    }

    /** A producer whose broker refuses for good (too large) every record keyed {@code key}, aborting its transaction. */
    private static MockProducer<byte[], byte[]> refusing(String key) {
        return refusing(r -> key.equals(new String(r.key(), StandardCharsets.UTF_8)),
                () -> new org.apache.kafka.common.errors.RecordTooLargeException("too large"),
                () -> new KafkaException("the transaction aborted: a record was refused"));
    }

    /**
     * A producer whose broker refuses the records {@code refuses} picks with {@code error} (their
     * callbacks), after which the transaction's commit throws {@code aborted} until it is aborted.
     */
    private static MockProducer<byte[], byte[]> refusing(java.util.function.Predicate<ProducerRecord<byte[], byte[]>> refuses,
            java.util.function.Supplier<RuntimeException> error, java.util.function.Supplier<KafkaException> aborted) {
        boolean[] poisoned = {false};
        return new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer()) {
            @Override
            public synchronized java.util.concurrent.Future<org.apache.kafka.clients.producer.RecordMetadata> send(
                    ProducerRecord<byte[], byte[]> r, org.apache.kafka.clients.producer.Callback callback) {
                if (refuses.test(r)) {
                    poisoned[0] = true;
                    RuntimeException e = error.get();
                    callback.onCompletion(null, e);
                    return java.util.concurrent.CompletableFuture.failedFuture(e);
                }
                return super.send(r, callback);
            }

            @Override
            public void commitTransaction() {
                if (poisoned[0]) {
                    throw aborted.get();
                }
                super.commitTransaction();
            }

            @Override
            public void abortTransaction() {
                poisoned[0] = false;
                super.abortTransaction();
            }
        };
    }

    private PartitionOffsets partitionWith(TransactionalSink sink, String... keys) {
        PartitionOffsets po = new PartitionOffsets(TP);
        for (int i = 0; i < keys.length; i++) {
            po.track(i);
            ProducerRecord<byte[], byte[]> r = new ProducerRecord<>("events.dlq", keys[i].getBytes(StandardCharsets.UTF_8),
                    "v".getBytes(StandardCharsets.UTF_8));
            sink.emit(po, i, List.of(Output.deadLetter(r, "MALFORMED_EVENT")));
        }
        return po;
    }
}
