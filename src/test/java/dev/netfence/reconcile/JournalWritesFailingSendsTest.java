package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.testkit.HeldProducer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * {@link JournalWrites} over a producer whose sends throw, are refused at once, wait for the
 * broker's metadata (a mock's and a real producer's with no broker) or block: the write fails and
 * is kept for the next retry, one metadata wait fails every queued write instead of one wait each,
 * and a writer never waits for the sender.
 */
class JournalWritesFailingSendsTest extends JournalWritesFixture {
    @Test
    void aSendThatThrowsAnErrorFailsThatWriteAndTheSenderGoesOn() {
        java.util.concurrent.atomic.AtomicBoolean thrown = new java.util.concurrent.atomic.AtomicBoolean();
        MockProducer<byte[], byte[]> failing = new MockProducer<>(true, null, new ByteArraySerializer(),
                new ByteArraySerializer()) {
            @Override
            public synchronized java.util.concurrent.Future<org.apache.kafka.clients.producer.RecordMetadata> send(
                    org.apache.kafka.clients.producer.ProducerRecord<byte[], byte[]> record,
                    org.apache.kafka.clients.producer.Callback callback) {
                if (thrown.compareAndSet(false, true)) {
                    throw new NoClassDefFoundError("org/example/Gone");
                }
                return super.send(record, callback);
            }
        };
        try (JournalWrites sending = new JournalWrites(failing, "sandbox.enforcements")) {
            sending.write("c1", V1);
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
                    .until(() -> sending.settled("c1").isDone());
            assertThat(sending.unwritten()).as("failed, to be written again").containsExactly("c1");

            sending.write("c2", V2);
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
                    .until(() -> sending.settled("c2").isDone() && !sending.unwritten().contains("c2"));
            assertThat(sending.retryFailed()).isEqualTo(1);
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
                    .until(() -> sending.unwritten().isEmpty());
        }
    }

    @Test
    void aSendTheProducerRefusesAtOnceIsKeptForTheNextRetry() {
        MockProducer<byte[], byte[]> refusing = new MockProducer<>(true, null, new ByteArraySerializer(),
                new ByteArraySerializer()) {
            private boolean refused;

            @Override
            public synchronized Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> r, Callback callback) {
                if (!refused) {
                    refused = true;
                    throw new IllegalStateException("buffer exhausted");
                }
                return super.send(r, callback);
            }
        };
        JournalWrites w = new JournalWrites(refusing, "sandbox.enforcements", false);

        w.write("c1", V1);
        w.drain();

        assertThat(w.unwritten()).containsExactly("c1");
        assertThat(w.retryFailed()).isEqualTo(1);
        w.drain();
        assertThat(w.unwritten()).isEmpty();
        assertThat(refusing.history()).hasSize(1);
    }

    @Test
    void aSendWhoseMetadataWaitTimedOutFailsTheQueuedWritesAtOnceUntilTheNextRetry() {
        java.util.concurrent.atomic.AtomicInteger attempts = new java.util.concurrent.atomic.AtomicInteger();
        MockProducer<byte[], byte[]> noMetadata = new MockProducer<>(true, null, new ByteArraySerializer(),
                new ByteArraySerializer()) {
            @Override
            public synchronized Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> r, Callback callback) {
                if (attempts.incrementAndGet() <= 2) { // the topic deleted: each such send blocked max.block.ms
                    throw new TimeoutException("Topic sandbox.enforcements not present in metadata after 5000 ms.");
                }
                return super.send(r, callback);
            }
        };
        JournalWrites w = new JournalWrites(noMetadata, "sandbox.enforcements", false);
        for (int i = 0; i < 8; i++) {
            w.write("c" + i, V1);
        }

        w.drain();

        assertThat(attempts.get()).as("one metadata wait, not one per queued container").isEqualTo(1);
        assertThat(w.unwrittenCount()).isEqualTo(8);
        assertThat(w.settled("c7")).isDone();
        assertThat(w.unwritten()).hasSize(8);
        w.write("c8", V1); // a new container's write while the topic is away settles at once too
        w.drain();
        assertThat(w.settled("c8")).isDone();
        assertThat(attempts.get()).isEqualTo(1);

        assertThat(w.retryFailed()).isEqualTo(9);
        w.drain();
        assertThat(attempts.get()).as("each retry waits once").isEqualTo(2);
        assertThat(w.unwritten()).hasSize(9);
        assertThat(w.retryFailed()).isEqualTo(9); // the topic is back
        w.drain();
        assertThat(w.unwritten()).isEmpty();
        assertThat(noMetadata.history()).hasSize(9);
    }

    @Test
    void withARealProducerAndNoBrokerOneMetadataWaitFailsEveryQueuedWriteUntilTheNextRetry() {
        java.util.concurrent.atomic.AtomicInteger sends = new java.util.concurrent.atomic.AtomicInteger();
        java.util.Map<String, Object> conf = java.util.Map.of("bootstrap.servers", "127.0.0.1:9", "max.block.ms", 300,
                "enable.idempotence", false);
        org.apache.kafka.clients.producer.KafkaProducer<byte[], byte[]> real = new org.apache.kafka.clients.producer
                .KafkaProducer<>(conf, new ByteArraySerializer(), new ByteArraySerializer()) {
            @Override
            public Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> r, Callback callback) {
                sends.incrementAndGet();
                return super.send(r, callback); // waits max.block.ms for metadata, then fails callback and future
            }
        };
        JournalWrites w = new JournalWrites(real, "sandbox.enforcements", false);
        try {
            for (int i = 0; i < 4; i++) {
                w.write("c" + i, V1);
            }

            w.drain();

            assertThat(sends.get()).as("one metadata wait, not one per queued container").isEqualTo(1);
            assertThat(w.settled("c3")).isDone();
            assertThat(w.retryFailed()).isEqualTo(4);
            w.drain();
            assertThat(sends.get()).isEqualTo(2);
        } finally {
            w.close(Duration.ofMillis(100));
        }
    }

    @Test
    void aWriterNeverWaitsForASendThatBlocksOnTheBrokersMetadata() throws Exception {
        HeldProducer blocking = new HeldProducer();
        JournalWrites w = new JournalWrites(blocking, "sandbox.enforcements");
        try {
            w.write("c1", V1);
            assertThat(blocking.awaitHeld()).isTrue(); // the sender is held in c1's send
            w.write("c2", V1); // returns at once
            w.write("c1", V2);
            assertThat(w.retryFailed()).isZero();
            assertThat(blocking.history()).isEmpty();

            blocking.release();
            await().atMost(Duration.ofSeconds(10)).until(() -> w.unwritten().isEmpty());
            assertThat(blocking.history()).extracting(r -> new String(r.key(), StandardCharsets.UTF_8) + "="
                    + new String(r.value(), StandardCharsets.UTF_8)).containsExactly("c1=v1", "c2=v1", "c1=v2");
        } finally {
            blocking.release();
            w.close(Duration.ofSeconds(1));
        }
    }
}
