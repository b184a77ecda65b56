package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * What {@link JournalWrites} writes again and when: a write the broker never acknowledged is
 * written again at the next retry, one still in flight or superseded by a newer write of its key
 * is not, writes of a key queued behind the sender coalesce into the newest, a topic that fails
 * every write is logged at its first failure and once in sum at each resync, and flush and close
 * account for every queued write. When a write settles is {@link JournalWritesSettlingTest}'s,
 * sends that fail or block {@link JournalWritesFailingSendsTest}'s.
 */
class JournalWritesTest extends JournalWritesFixture {
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
        List<String> warnings;
        try (dev.netfence.testkit.CapturedLogs logged = dev.netfence.testkit.CapturedLogs.of(JournalWrites.class)) {
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
            warnings = logged.messages(ch.qos.logback.classic.Level.WARN).stream().filter(m -> m.contains(topic)).toList();
        }
        assertThat(warnings).as("two resyncs of 50 failed writes").hasSize(4);
        assertThat(warnings.get(0)).startsWith("writing the live-set entry of container c0 to " + topic + " failed (");
        assertThat(warnings.get(1)).matches("50 writes to " + java.util.regex.Pattern.quote(topic) + " failed since the"
                + " last resync \\(the last: container c49, .*\\); 50 entries written again now: (c[0-9]+, ){9}c[0-9]+"
                + " and 40 more");
        assertThat(warnings.get(2)).matches("writing the live-set entry of container c[0-9]+ to " + topic + " failed \\(.*");
        assertThat(warnings.get(3)).startsWith("50 writes to " + topic + " failed since");
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
}
