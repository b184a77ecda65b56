package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.event.OutcomeCodec;
import dev.netfence.testkit.MutableClock;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetCommitCallback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A partition that gets no events keeps its committed offset: the broker drops a member-less
 * group's offset {@code offsets.retention.minutes} after its last commit (node-partition mode's
 * group never has members), so the pipeline's commit rounds commit it again, unchanged, once an
 * hour ({@link CommitRefresh}), also one netfence has not committed since it started (the group's
 * offset is asked for); before, a node quiet for a week read its whole partition again at its next
 * start.
 */
class CommitRefreshTest {
    private static final TopicPartition TP = new TopicPartition("events", 0);

    private final MutableClock clock = new MutableClock(Instant.parse("2026-12-07T00:00:00Z"));
    private final Completions completions = new Completions();
    private final List<Map<TopicPartition, OffsetAndMetadata>> commits = new CopyOnWriteArrayList<>();
    /** The group's committed offsets, as the broker keeps them. */
    private final Map<TopicPartition, OffsetAndMetadata> stored = new java.util.HashMap<>();
    private int looks;
    private final MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("earliest") {
        @Override
        public synchronized void commitAsync(Map<TopicPartition, OffsetAndMetadata> offsets, OffsetCommitCallback cb) {
            commits.add(Map.copyOf(offsets));
            stored.putAll(offsets);
            cb.onComplete(offsets, null);
        }

        @Override
        public synchronized Map<TopicPartition, OffsetAndMetadata> committed(Set<TopicPartition> partitions,
                Duration timeout) {
            looks++;
            Map<TopicPartition, OffsetAndMetadata> found = new java.util.HashMap<>();
            partitions.forEach(tp -> found.put(tp, stored.get(tp))); // the client answers null for none
            return found;
        }
    };
    private final AtLeastOnceSink sink = new AtLeastOnceSink(new MockProducer<>(true, null, new ByteArraySerializer(),
            new ByteArraySerializer()), consumer, completions, new PipelineMetrics(new SimpleMeterRegistry(),
            Clock.systemUTC()), new OutputRecords(new OutcomeCodec(), "outcomes", "events.dlq", "n1/1", "n1"),
            new SendHealth(Clock.systemUTC(), Duration.ofSeconds(30)));

    @AfterEach
    void close() {
        sink.close();
    }

    private void round(PartitionOffsets p) {
        CommitRefresh.seed(consumer, List.of(p));
        sink.commit(List.of(p), false);
        completions.runAll();
    }

    @Test
    void aQuietPartitionsOffsetFromBeforeTheStartIsCommittedAgainOnceAnHourUnchanged() {
        stored.put(TP, new OffsetAndMetadata(42)); // committed by the run before this start
        consumer.assign(List.of(TP));
        consumer.seek(TP, 42); // read from there: no event comes
        PartitionOffsets p = new PartitionOffsets(TP, clock);

        round(p);
        clock.advance(Duration.ofMinutes(59));
        round(p);
        assertThat(commits).as("nothing before an hour").isEmpty();
        assertThat(looks).isZero();

        clock.advance(Duration.ofMinutes(1));
        round(p);
        assertThat(commits).containsExactly(Map.of(TP, new OffsetAndMetadata(42)));
        assertThat(looks).isEqualTo(1);

        clock.advance(Duration.ofMinutes(59));
        round(p);
        clock.advance(Duration.ofMinutes(1));
        round(p);
        assertThat(commits).as("again an hour after, the offset known now").hasSize(2).allSatisfy(c -> assertThat(c)
                .isEqualTo(Map.of(TP, new OffsetAndMetadata(42))));
        assertThat(looks).isEqualTo(1);
    }

    @Test
    void anOffsetNetfenceCommittedIsCommittedAgainAnHourAfterItsLastCommit() {
        PartitionOffsets p = new PartitionOffsets(TP, clock);
        p.track(7);
        p.done(7);
        round(p);
        assertThat(commits).containsExactly(Map.of(TP, new OffsetAndMetadata(8)));

        clock.advance(Duration.ofMinutes(30));
        round(p);
        clock.advance(Duration.ofMinutes(29));
        round(p);
        assertThat(commits).hasSize(1);
        clock.advance(Duration.ofMinutes(1));
        round(p);
        assertThat(commits).hasSize(2).last().isEqualTo(Map.of(TP, new OffsetAndMetadata(8)));
        assertThat(looks).as("its own commit known: no look").isZero();
    }

    @Test
    void aPartitionWithoutACommittedOffsetIsLookedAtOnceAnHourAndNothingIsCommitted() {
        PartitionOffsets p = new PartitionOffsets(TP, clock);

        clock.advance(Duration.ofHours(1));
        round(p);
        round(p);
        assertThat(looks).as("once, not at every round").isEqualTo(1);
        assertThat(commits).isEmpty();
        clock.advance(Duration.ofHours(1));
        round(p);
        assertThat(looks).isEqualTo(2);
        assertThat(commits).isEmpty();
    }

    @Test
    void exactlyOnceCommitsTheOffsetAgainInATransactionOfItsOwn() {
        MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(),
                new ByteArraySerializer());
        TransactionalSink exactlyOnce = new TransactionalSink(producer, consumer, new PipelineMetrics(
                new SimpleMeterRegistry(), Clock.systemUTC()), new OutputRecords(new OutcomeCodec(), "outcomes",
                "events.dlq", "n1/1", "n1"), new SendHealth(Clock.systemUTC(), Duration.ofSeconds(30)));
        stored.put(TP, new OffsetAndMetadata(42));
        consumer.assign(List.of(TP));
        consumer.seek(TP, 42);
        PartitionOffsets p = new PartitionOffsets(TP, clock);
        clock.advance(Duration.ofHours(1));

        CommitRefresh.seed(consumer, List.of(p));
        exactlyOnce.commit(List.of(p), false);

        assertThat(producer.transactionCommitted()).isTrue();
        assertThat(producer.consumerGroupOffsetsHistory()).singleElement().satisfies(byGroup -> assertThat(
                byGroup.values()).containsExactly(Map.of(TP, new OffsetAndMetadata(42))));
        assertThat(producer.history()).as("no output").isEmpty();
        exactlyOnce.close();
    }

    @Test
    void noOffsetIsCommittedAgainWhileARecordIsInFlightOrWhereTheGroupsOffsetIsAheadOfTheConsumer() {
        // helper 182: an out-of-range reset (the topic created again) reads from 2 while the group's offset says 42
        stored.put(TP, new OffsetAndMetadata(42));
        consumer.assign(List.of(TP));
        consumer.seek(TP, 2);
        PartitionOffsets p = new PartitionOffsets(TP, clock);
        clock.advance(Duration.ofHours(1));
        round(p);
        p.track(2);
        p.track(3);
        p.done(2);
        round(p);
        assertThat(commits).as("its own progress, not the group's old offset").containsExactly(
                Map.of(TP, new OffsetAndMetadata(3)));

        clock.advance(Duration.ofHours(1)); // 3 still in flight: nothing again
        round(p);
        assertThat(commits).hasSize(1);
        p.done(3);
        round(p);
        assertThat(commits).hasSize(2).last().isEqualTo(Map.of(TP, new OffsetAndMetadata(4)));
    }
}
