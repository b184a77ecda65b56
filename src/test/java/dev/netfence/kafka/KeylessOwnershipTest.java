package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.junit.jupiter.api.Test;

/**
 * The shared group that decides who dead-letters records without a node is not needed to enforce:
 * a failure of it (its ACL not granted to a node's principal) must not stop the pipeline. Before,
 * {@code GroupAuthorizationException} from its poll aborted every round of the poll loop, so the
 * clients were made again every second and no event was enforced anywhere in the fleet.
 */
class KeylessOwnershipTest {
    private static final PipelineSettings SETTINGS = PipelineSettings.custom()
            .kafka(Map.of("bootstrap.servers", "127.0.0.1:9092")).nodeId("n1").build();

    @Test
    void itsConsumerNeverMakesTheEventsTopic() {
        java.util.concurrent.atomic.AtomicReference<Map<String, Object>> seen = new java.util.concurrent.atomic.AtomicReference<>();
        KeylessOwnership keyless = new KeylessOwnership(SETTINGS, new NodeRouting("n1"), settings -> {
            seen.set(settings);
            return new MockConsumer<>("earliest");
        }, Duration.ofSeconds(30));
        keyless.start();
        keyless.poll();

        assertThat(seen.get()).containsEntry("allow.auto.create.topics", false);
        keyless.close();
    }

    @Test
    void aSharedGroupItMayNotJoinMakesThisInstanceDeadLetterKeylessRecordsAndNeverFailsThePoll() {
        AtomicInteger polls = new AtomicInteger();
        MockConsumer<byte[], byte[]> refused = new MockConsumer<>("earliest") {
            @Override
            public synchronized ConsumerRecords<byte[], byte[]> poll(Duration timeout) {
                polls.incrementAndGet();
                throw new GroupAuthorizationException("Not authorized to access group: " + KeylessOwnership.groupOf("e"));
            }
        };
        KeylessOwnership keyless = new KeylessOwnership(SETTINGS, new NodeRouting("n1"), settings -> refused,
                Duration.ofSeconds(30));
        keyless.start();

        assertThatCode(keyless::poll).doesNotThrowAnyException();
        assertThatCode(keyless::poll).as("and not tried again at once").doesNotThrowAnyException();

        assertThat(polls.get()).isEqualTo(1);
        for (int partition : Set.of(0, 1, 7)) {
            assertThat(keyless.owns(partition)).as("dead-letters what it reads of partition %d", partition).isTrue();
        }
        keyless.close();
    }

    @Test
    void aFailureThatLeftTheMembershipInPlaceGivesBackTheShareAtTheNextPollThatWorks() throws Exception {
        AtomicInteger polls = new AtomicInteger();
        MockConsumer<byte[], byte[]> flaky = new MockConsumer<>("earliest") {
            @Override
            public synchronized ConsumerRecords<byte[], byte[]> poll(Duration timeout) {
                if (polls.incrementAndGet() == 1) {
                    throw new org.apache.kafka.common.errors.AuthenticationException("re-authentication failed");
                }
                return ConsumerRecords.empty();
            }

            @Override
            public synchronized Set<org.apache.kafka.common.TopicPartition> assignment() {
                return Set.of(new org.apache.kafka.common.TopicPartition("e", 2)); // still a member, partition 2 its
            }

            @Override
            public synchronized void pause(java.util.Collection<org.apache.kafka.common.TopicPartition> partitions) {
            }
        };
        KeylessOwnership keyless = new KeylessOwnership(SETTINGS, new NodeRouting("n1"), settings -> flaky,
                Duration.ofMillis(1));
        keyless.start();

        keyless.poll(); // fails: the share is not known, every keyless record is dead-lettered here
        assertThat(keyless.owns(5)).isTrue();
        Thread.sleep(150);
        keyless.poll();

        assertThat(polls.get()).isEqualTo(2);
        assertThat(keyless.owns(2)).isTrue();
        assertThat(keyless.owns(5)).as("the share known again: another instance's partition").isFalse();
        keyless.close();
    }

    @Test
    void closingWithinAStopsBudgetWaitsNoLongerThanItsShareForTheSharedGroupsConsumer() {
        java.util.List<Duration> closes = new java.util.concurrent.CopyOnWriteArrayList<>();
        MockConsumer<byte[], byte[]> member = new MockConsumer<>("earliest") {
            @Override
            public synchronized void close(Duration timeout) {
                closes.add(timeout);
                super.close(timeout);
            }
        };
        KeylessOwnership keyless = new KeylessOwnership(SETTINGS, new NodeRouting("n1"), settings -> member,
                Duration.ofSeconds(30));
        keyless.start();
        keyless.poll();

        keyless.close(ShutdownBudget.CLIENT_CLOSE);

        assertThat(closes).as("helper 181 #5: 5 s before, over the documented stop budget").containsExactly(
                ShutdownBudget.CLIENT_CLOSE);
    }
}
