package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

class JournalWritesTest {
    private static final byte[] V1 = "v1".getBytes(StandardCharsets.UTF_8);
    private static final byte[] V2 = "v2".getBytes(StandardCharsets.UTF_8);

    private final MockProducer<byte[], byte[]> producer =
            new MockProducer<>(false, null, new ByteArraySerializer(), new ByteArraySerializer());
    private final JournalWrites writes = new JournalWrites(producer, "sandbox.enforcements");

    private static TimeoutException expired() {
        return new TimeoutException("Expiring 1 record(s) for sandbox.enforcements-0: 120000 ms has passed");
    }

    private List<String> sentValues() {
        return producer.history().stream().map(r -> r.value() == null ? "tombstone" : new String(r.value(),
                StandardCharsets.UTF_8)).toList();
    }

    @Test
    void aWriteTheBrokerNeverAcknowledgedIsWrittenAgainAtTheNextRetryAndThenForgotten() {
        writes.write("c1", V1);
        producer.errorNext(expired());

        assertThat(writes.unwritten()).containsExactly("c1");
        assertThat(writes.retryFailed()).isEqualTo(1);
        assertThat(sentValues()).containsExactly("v1", "v1");
        assertThat(producer.history().get(1).key()).isEqualTo("c1".getBytes(StandardCharsets.UTF_8));

        producer.completeNext();
        assertThat(writes.unwritten()).isEmpty();
        assertThat(writes.retryFailed()).isZero();
        assertThat(producer.history()).hasSize(2);
    }

    @Test
    void aWriteStillInFlightIsNotRetried() {
        writes.write("c1", V1);

        assertThat(writes.retryFailed()).isZero();
        assertThat(writes.unwritten()).containsExactly("c1");
        assertThat(producer.history()).hasSize(1);
    }

    @Test
    void aNewerWriteOfTheKeySupersedesAnOlderOneThatFailedAfterIt() {
        writes.write("c1", V1);
        writes.write("c1", V2);
        producer.errorNext(expired());

        assertThat(writes.retryFailed()).isZero();
        producer.completeNext();
        assertThat(writes.unwritten()).isEmpty();
        assertThat(sentValues()).containsExactly("v1", "v2");
    }

    @Test
    void whenBothWritesOfAKeyFailOnlyTheNewerIsWrittenAgain() {
        writes.write("c1", V1);
        writes.write("c1", V2);
        producer.errorNext(expired());
        producer.errorNext(expired());

        assertThat(writes.retryFailed()).isEqualTo(1);
        assertThat(sentValues()).containsExactly("v1", "v2", "v2");
    }

    @Test
    void aFailedTombstoneIsWrittenAgainAsATombstone() {
        writes.write("c1", null);
        producer.errorNext(expired());

        writes.retryFailed();

        assertThat(sentValues()).containsExactly("tombstone", "tombstone");
    }

    @Test
    void aSendTheProducerRefusesAtOnceIsKeptForTheNextRetry() {
        MockProducer<byte[], byte[]> refusing = new MockProducer<>(true, null, new ByteArraySerializer(),
                new ByteArraySerializer()) {
            private boolean refused;

            @Override
            public synchronized java.util.concurrent.Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> r,
                    Callback callback) {
                if (!refused) {
                    refused = true;
                    throw new IllegalStateException("buffer exhausted");
                }
                return super.send(r, callback);
            }
        };
        JournalWrites w = new JournalWrites(refusing, "sandbox.enforcements");

        w.write("c1", V1);

        assertThat(w.unwritten()).containsExactly("c1");
        assertThat(w.retryFailed()).isEqualTo(1);
        assertThat(w.unwritten()).isEmpty();
        assertThat(refusing.history()).hasSize(1);
    }

    @Test
    void aRetryRoundStopsAtTheFirstWriteThatFailsBeforeItsSendReturns() {
        MockProducer<byte[], byte[]> away = new MockProducer<>(false, null, new ByteArraySerializer(),
                new ByteArraySerializer()) {
            private int sends;

            @Override
            public synchronized java.util.concurrent.Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> r,
                    Callback callback) {
                if (++sends > 2) { // the first two were accepted; now the metadata wait gives up at once
                    callback.onCompletion(null, new TimeoutException("Topic not present in metadata after 60000 ms."));
                    return java.util.concurrent.CompletableFuture.failedFuture(new TimeoutException("metadata"));
                }
                return super.send(r, callback);
            }
        };
        JournalWrites w = new JournalWrites(away, "sandbox.enforcements");
        w.write("c1", V1);
        w.write("c2", V2);
        away.errorNext(expired());
        away.errorNext(expired());

        assertThat(w.retryFailed()).isEqualTo(1);
        assertThat(w.unwritten()).containsExactlyInAnyOrder("c1", "c2");
    }

    @Test
    void closingClosesTheProducerAndNamesTheContainersWhoseEntryFailedOrIsNotAcknowledged() {
        writes.write("c1", V1);
        writes.write("c2", V2);
        writes.write("c3", V1);
        producer.completeNext();
        producer.errorNext(expired());

        List<String> left = writes.close(Duration.ofSeconds(1));

        assertThat(producer.closed()).isTrue();
        assertThat(sentValues()).containsExactly("v1", "v2", "v1");
        assertThat(left).containsExactlyInAnyOrder("c2", "c3");
    }
}
