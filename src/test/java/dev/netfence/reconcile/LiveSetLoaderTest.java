package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.netns.NamespaceId;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.junit.jupiter.api.Test;

class LiveSetLoaderTest {
    private static final String TOPIC = "sandbox.enforcements";
    private static final TopicPartition P0 = new TopicPartition(TOPIC, 0);
    private final LiveContainerCodec codec = new LiveContainerCodec();
    private final AtomicInteger attempts = new AtomicInteger();

    private byte[] entry(String id, String node) {
        return codec.encode(new LiveContainer(id, "task-1", node, null, 4242, new NamespaceId(4, 7), null, null, null,
                false, "nft", Map.of(), Instant.parse("2026-12-04T04:00:00Z")));
    }

    /**
     * A consumer whose metadata requests time out for the first {@code failures} attempts, as while
     * the broker is away, and whose first {@code emptyRounds} polls bring nothing, as a slow broker's.
     */
    private MockConsumer<byte[], byte[]> consumer(int failures, int emptyRounds) {
        int attempt = attempts.incrementAndGet();
        MockConsumer<byte[], byte[]> c = new MockConsumer<>("earliest") {
            @Override
            public synchronized List<PartitionInfo> partitionsFor(String topic, Duration timeout) {
                if (attempt <= failures) {
                    throw new TimeoutException("Timeout expired while fetching topic metadata");
                }
                return super.partitionsFor(topic, timeout);
            }
        };
        c.updatePartitions(TOPIC, List.of(new PartitionInfo(TOPIC, 0, Node.noNode(), new Node[0], new Node[0])));
        c.updateBeginningOffsets(Map.of(P0, 0L));
        c.updateEndOffsets(Map.of(P0, 3L));
        for (int i = 0; i < emptyRounds; i++) {
            c.schedulePollTask(() -> { });
        }
        c.schedulePollTask(() -> {
            c.addRecord(record(0, "c1", entry("c1", "node-1")));
            c.addRecord(record(1, "c2", entry("c2", "node-2")));
        });
        c.schedulePollTask(() -> c.addRecord(record(2, "c3", entry("c3", "node-1"))));
        return c;
    }

    private static ConsumerRecord<byte[], byte[]> record(long offset, String key, byte[] value) {
        return new ConsumerRecord<>(TOPIC, 0, offset, key.getBytes(StandardCharsets.UTF_8), value);
    }

    @Test
    void whileTheBrokerCannotBeReachedTheReadIsTriedAgainAndThenReadsEverythingOfThisNode() throws Exception {
        LiveSetLoader loader = new LiveSetLoader(() -> consumer(2, 0), TOPIC, "b:9092", Duration.ofSeconds(1),
                Duration.ofMillis(1));

        List<LiveContainer> read = loader.load("node-1"::equals);

        assertThat(attempts.get()).isEqualTo(3);
        assertThat(read).extracting(LiveContainer::containerId).containsExactly("c1", "c3");
    }

    @Test
    void aReadWithABudgetGivesUpOnceItIsSpentWhileTheBrokerCannotBeReached() {
        LiveSetLoader loader = new LiveSetLoader(() -> consumer(Integer.MAX_VALUE, 0), TOPIC, "b:9092",
                Duration.ofSeconds(1), Duration.ofMillis(20));

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> loader.load("node-1"::equals, Duration.ofMillis(100)))
                .isInstanceOf(TimeoutException.class);
        assertThat(attempts.get()).isBetween(2, 4); // 20 + 40 ms of back-off fit the budget, 80 more do not
    }

    @Test
    void aReadWithABudgetGivesUpWhenPollsBringNothingPastIt() {
        // the broker went away after the end offsets were known: every poll is empty
        LiveSetLoader loader = new LiveSetLoader(() -> {
            MockConsumer<byte[], byte[]> c = new MockConsumer<>("earliest") {
                @Override
                public synchronized org.apache.kafka.clients.consumer.ConsumerRecords<byte[], byte[]> poll(
                        Duration timeout) {
                    return org.apache.kafka.clients.consumer.ConsumerRecords.empty();
                }
            };
            c.updatePartitions(TOPIC, List.of(new PartitionInfo(TOPIC, 0, Node.noNode(), new Node[0], new Node[0])));
            c.updateBeginningOffsets(Map.of(P0, 0L));
            c.updateEndOffsets(Map.of(P0, 3L));
            return c;
        }, TOPIC, "b:9092", Duration.ofSeconds(1), Duration.ofMillis(10));

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> loader.load("node-1"::equals, Duration.ofMillis(300)))
                .isInstanceOf(TimeoutException.class).hasMessageContaining("was not read to its end within the budget");
    }

    @Test
    void aReadWithABudgetThatSucceedsReadsEverythingOfThisNode() throws Exception {
        LiveSetLoader loader = new LiveSetLoader(() -> consumer(1, 0), TOPIC, "b:9092", Duration.ofSeconds(1),
                Duration.ofMillis(1));

        assertThat(loader.load("node-1"::equals, Duration.ofSeconds(30))).extracting(LiveContainer::containerId)
                .containsExactly("c1", "c3");
    }

    @Test
    void onlyThisNodesEntriesAreKeptWhileReadingAndAKeyWhoseLastEntryIsAnotherNodesIsDropped() throws Exception {
        // the topic holds the whole fleet: a node must not hold every node's entries until the end of the read
        java.util.Set<String> seen = new java.util.LinkedHashSet<>();
        MockConsumer<byte[], byte[]> c = new MockConsumer<>("earliest");
        c.updatePartitions(TOPIC, List.of(new PartitionInfo(TOPIC, 0, Node.noNode(), new Node[0], new Node[0])));
        c.updateBeginningOffsets(Map.of(P0, 0L));
        c.updateEndOffsets(Map.of(P0, 4L));
        java.util.List<String> judgedBeforeTheSecondBatch = new java.util.ArrayList<>();
        c.schedulePollTask(() -> {
            c.addRecord(record(0, "c1", entry("c1", "node-1")));
            c.addRecord(record(1, "c2", entry("c2", "node-2")));
        });
        c.schedulePollTask(() -> {
            judgedBeforeTheSecondBatch.addAll(seen);
            c.addRecord(record(2, "c9", entry("c9", "node-1")));
            c.addRecord(record(3, "c9", entry("c9", "node-3"))); // its last record: another node's
        });
        LiveSetLoader loader = new LiveSetLoader(() -> c, TOPIC, "b:9092", Duration.ofSeconds(1), Duration.ofMillis(1));

        List<LiveContainer> read = loader.load(node -> {
            seen.add(node);
            return "node-1".equals(node);
        });

        assertThat(read).extracting(LiveContainer::containerId).containsExactly("c1");
        assertThat(judgedBeforeTheSecondBatch).as("each entry judged as it is read, not all at the end")
                .containsExactly("node-1", "node-2");
        assertThat(seen).containsExactly("node-1", "node-2", "node-3");
    }

    @Test
    void aReadSlowerThanTheTimeoutIsNotCutShortButReadToTheEnd() throws Exception {
        LiveSetLoader loader = new LiveSetLoader(() -> consumer(0, 5), TOPIC, "b:9092", Duration.ofMillis(1),
                Duration.ofMillis(1));

        assertThat(loader.load("node-1"::equals)).extracting(LiveContainer::containerId).containsExactly("c1", "c3");
    }

    @Test
    void aBrokerThatDoesNotKnowTheTopicYetIsAskedAgainNotTakenForAnEmptyLiveSet() throws Exception {
        LiveSetLoader loader = new LiveSetLoader(() -> {
            MockConsumer<byte[], byte[]> c = consumer(0, 0);
            if (attempts.get() == 1) {
                c.updatePartitions(TOPIC, List.of()); // UNKNOWN_TOPIC_OR_PARTITION: an empty answer
            }
            return c;
        }, TOPIC, "b:9092", Duration.ofSeconds(1), Duration.ofMillis(1));

        assertThat(loader.load("node-1"::equals)).extracting(LiveContainer::containerId).containsExactly("c1", "c3");
        assertThat(attempts.get()).isEqualTo(2);
    }

    @Test
    void anErrorThatTryingAgainCannotMendIsThrown() {
        LiveSetLoader loader = new LiveSetLoader(() -> new MockConsumer<byte[], byte[]>("earliest") {
            @Override
            public synchronized List<PartitionInfo> partitionsFor(String topic, Duration timeout) {
                throw new org.apache.kafka.common.errors.TopicAuthorizationException(java.util.Set.of(TOPIC));
            }
        }, TOPIC, "b:9092", Duration.ofSeconds(1), Duration.ofMillis(1));

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> loader.load("node-1"::equals))
                .isInstanceOf(org.apache.kafka.common.errors.TopicAuthorizationException.class);
    }
}
