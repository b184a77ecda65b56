package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.testkit.HeldProducer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
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
    private final JournalWrites writes = new JournalWrites(producer, "sandbox.enforcements", false);

    private static TimeoutException expired() {
        return new TimeoutException("Expiring 1 record(s) for sandbox.enforcements-0: 120000 ms has passed");
    }

    private List<String> sentValues() {
        return producer.history().stream().map(r -> r.value() == null ? "tombstone" : new String(r.value(),
                StandardCharsets.UTF_8)).toList();
    }

    @Test
    void aWriteTheBrokerNeverAcknowledgedIsWrittenAgainAfterTheNextRetryAndThenForgotten() {
        writes.write("c1", V1);
        writes.drain();
        producer.errorNext(expired());

        assertThat(writes.unwritten()).containsExactly("c1");
        assertThat(writes.retryFailed()).isEqualTo(1);
        writes.drain();
        assertThat(sentValues()).containsExactly("v1", "v1");
        assertThat(producer.history().get(1).key()).isEqualTo("c1".getBytes(StandardCharsets.UTF_8));

        producer.completeNext();
        assertThat(writes.unwritten()).isEmpty();
        assertThat(writes.retryFailed()).isZero();
        writes.drain();
        assertThat(producer.history()).hasSize(2);
    }

    @Test
    void aTopicThatFailsEveryWriteIsLoggedOnceForTheFirstFailureAndOnceInSumAtTheNextResync() {
        String topic = "journal-log-" + java.util.UUID.randomUUID(); // other classes' journals log beside this one
        JournalWrites failing = new JournalWrites(producer, topic, false);
        ch.qos.logback.classic.Logger logger =
                (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(JournalWrites.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logged =
                new ch.qos.logback.core.read.ListAppender<>();
        logged.start();
        logger.addAppender(logged);
        try {
            for (int round = 0; round < 2; round++) {
                for (int i = 0; i < 50; i++) {
                    failing.write("c" + i, V1);
                }
                failing.drain();
                for (int i = 0; i < 50; i++) {
                    producer.errorNext(expired());
                }
                assertThat(failing.retryFailed()).isEqualTo(50);
            }
        } finally {
            logger.detachAppender(logged);
        }
        List<String> warnings = logged.list.stream().filter(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN)
                .map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage).filter(m -> m.contains(topic)).toList();
        assertThat(warnings).as("two resyncs of 50 failed writes").hasSize(4);
        assertThat(warnings.get(0)).startsWith("writing the live-set entry of container c0 to " + topic + " failed (");
        assertThat(warnings.get(1)).matches("50 writes to " + java.util.regex.Pattern.quote(topic) + " failed since the"
                + " last resync \\(the last: container c49, .*\\); 50 entries written again now: (c[0-9]+, ){9}c[0-9]+"
                + " and 40 more");
        assertThat(warnings.get(2)).matches("writing the live-set entry of container c[0-9]+ to " + topic + " failed \\(.*");
        assertThat(warnings.get(3)).startsWith("50 writes to " + topic + " failed since");
    }

    @Test
    void aWriteQueuedOverAFailedOneQueuedForItsRetryIsNotSettledBeforeTheBrokerAcknowledgesIt() {
        writes.write("c1", V1);
        writes.drain();
        producer.errorNext(expired()); // settles the failed write: the pipeline must not stall behind the journal
        assertThat(writes.retryFailed()).isEqualTo(1);

        writes.write("c1", V2); // an event's change, queued over the retry before the sender took it

        assertThat(writes.settled("c1")).as("its event's offset must wait for this write").isNotDone();
        writes.drain();
        assertThat(writes.settled("c1")).isNotDone();
        producer.completeNext();
        assertThat(writes.settled("c1")).isDone();
        assertThat(sentValues()).containsExactly("v1", "v2");
    }

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
    void aWriteStillInFlightIsNotRetried() {
        writes.write("c1", V1);
        writes.drain();

        assertThat(writes.retryFailed()).isZero();
        writes.drain();
        assertThat(writes.unwritten()).containsExactly("c1");
        assertThat(producer.history()).hasSize(1);
    }

    @Test
    void writesOfAKeyQueuedBehindTheSenderCoalesceIntoTheNewest() {
        writes.write("c1", V1);
        writes.write("c2", V1);
        writes.write("c1", V2);
        writes.drain();

        assertThat(sentValues()).containsExactly("v2", "v1");
    }

    @Test
    void aNewerWriteOfTheKeySupersedesAnOlderOneThatFailedAfterIt() {
        writes.write("c1", V1);
        writes.drain();
        writes.write("c1", V2);
        writes.drain();
        producer.errorNext(expired());

        assertThat(writes.retryFailed()).isZero();
        producer.completeNext();
        assertThat(writes.unwritten()).isEmpty();
        assertThat(sentValues()).containsExactly("v1", "v2");
    }

    @Test
    void whenBothWritesOfAKeyFailOnlyTheNewerIsWrittenAgain() {
        writes.write("c1", V1);
        writes.drain();
        writes.write("c1", V2);
        writes.drain();
        producer.errorNext(expired());
        producer.errorNext(expired());

        assertThat(writes.retryFailed()).isEqualTo(1);
        writes.drain();
        assertThat(sentValues()).containsExactly("v1", "v2", "v2");
    }

    @Test
    void aFailedTombstoneIsWrittenAgainAsATombstone() {
        writes.write("c1", null);
        writes.drain();
        producer.errorNext(expired());

        writes.retryFailed();
        writes.drain();

        assertThat(sentValues()).containsExactly("tombstone", "tombstone");
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

    @Test
    void flushReturnsOnceTheSenderHandedOverEveryQueuedWriteAndTheBrokerAcknowledgedIt() throws Exception {
        MockProducer<byte[], byte[]> acking = new MockProducer<>(true, null, new ByteArraySerializer(),
                new ByteArraySerializer());
        JournalWrites w = new JournalWrites(acking, "sandbox.enforcements");
        try {
            for (int i = 0; i < 200; i++) {
                w.write("c" + i, V1);
            }

            w.flush();

            assertThat(acking.history()).hasSize(200);
            assertThat(w.unwritten()).isEmpty();
        } finally {
            w.close(Duration.ofSeconds(1));
        }
    }

    @Test
    void aWriteTheCloseFailsDoesNotSettleSoTheEventWaitingForItIsNotCommitted() {
        writes.write("c1", V1);
        writes.write("c2", V1);
        writes.drain();
        producer.errorNext(expired()); // failed before the close: settles, and would be written again
        assertThat(writes.settled("c1")).isDone();

        writes.close(Duration.ofSeconds(1));
        producer.errorNext(new org.apache.kafka.common.KafkaException("Producer is closed forcefully."));

        assertThat(writes.settled("c2")).as("no retry will come in this process").isNotDone();
        assertThat(writes.unwritten()).containsExactlyInAnyOrder("c1", "c2");
    }

    @Test
    void closingClosesTheProducerAndNamesTheContainersWhoseEntryFailedOrIsNotAcknowledged() {
        writes.write("c1", V1);
        writes.write("c2", V2);
        writes.write("c3", V1);
        writes.drain();
        producer.completeNext();
        producer.errorNext(expired());

        List<String> left = writes.close(Duration.ofSeconds(1));

        assertThat(producer.closed()).isTrue();
        assertThat(sentValues()).containsExactly("v1", "v2", "v1");
        assertThat(left).containsExactlyInAnyOrder("c2", "c3");
    }

    @Test
    void aKeysWriteSettlesOnlyWhenTheBrokerAcknowledgesIt() {
        assertThat(writes.settled("c1")).isDone();
        writes.write("c1", V1);
        CompletableFuture<Void> settled = writes.settled("c1");
        assertThat(settled).isNotDone();
        writes.drain();
        assertThat(settled).isNotDone();

        producer.completeNext();
        assertThat(settled).isCompleted();
        assertThat(writes.settled("c1")).isDone();
    }

    @Test
    void aWriteReplacedWhileQueuedSettlesWithTheWriteThatReplacedIt() {
        writes.write("c1", V1);
        CompletableFuture<Void> first = writes.settled("c1");
        writes.write("c1", V2);
        CompletableFuture<Void> second = writes.settled("c1");
        writes.drain();
        assertThat(first).isNotDone();

        producer.completeNext();
        assertThat(sentValues()).containsExactly("v2");
        assertThat(first).isCompleted();
        assertThat(second).isCompleted();
    }

    @Test
    void aWriteInFlightSettlesByItselfWhenANewerOneFollows() {
        writes.write("c1", V1);
        CompletableFuture<Void> first = writes.settled("c1");
        writes.drain();
        writes.write("c1", V2);
        CompletableFuture<Void> second = writes.settled("c1");

        producer.completeNext();
        assertThat(first).isCompleted();
        assertThat(second).isNotDone();
        writes.drain();
        producer.completeNext();
        assertThat(second).isCompleted();
    }

    @Test
    void aWriteInFlightThatFailsAfterANewerOneWasQueuedSettlesWithTheNewerOne() {
        writes.write("c1", V1);
        CompletableFuture<Void> first = writes.settled("c1");
        writes.drain();
        writes.write("c1", V2);
        CompletableFuture<Void> second = writes.settled("c1");

        producer.errorNext(expired());
        assertThat(first).as("its state is not in the journal, nor the newer one yet").isNotDone();
        writes.drain();
        producer.completeNext();
        assertThat(sentValues()).containsExactly("v1", "v2");
        assertThat(second).isCompleted();
        assertThat(first).isCompleted();
    }

    @Test
    void aFailedWriteSettlesAndIsKeptToBeWrittenAgain() {
        writes.write("c1", V1);
        CompletableFuture<Void> settled = writes.settled("c1");
        writes.drain();
        producer.errorNext(expired());

        assertThat(settled).isCompleted();
        assertThat(writes.unwritten()).containsExactly("c1");
        assertThat(writes.retryFailed()).isEqualTo(1);
    }
}
