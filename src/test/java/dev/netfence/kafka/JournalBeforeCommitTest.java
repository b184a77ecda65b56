package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.core.EnforcementResult;
import dev.netfence.event.ContainerEvent;
import dev.netfence.event.Outcome;
import dev.netfence.event.OutcomeCodec;
import dev.netfence.kafka.testkit.TestKafka;
import dev.netfence.policy.store.FakePolicies;
import dev.netfence.policy.store.InMemoryPolicyStore;
import dev.netfence.reconcile.ContainerLifecycle;
import dev.netfence.testkit.KafkaLane;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An event's offset is committed only once what the event changed in the live set is in the
 * journal: a netfence killed between the two redoes the event on restart instead of forgetting the
 * container (whose rules a restarted netfence would then never resync). In at-least-once mode the
 * outcome still goes out at once; in exactly-once mode it waits for its transaction, which waits
 * for the journal.
 */
@KafkaLane
class JournalBeforeCommitTest {
    private static final String NODE = "n-journal";

    /** The reconciler's part, with each container's journal write held until the test lets it go. */
    private static final class HeldJournal implements ContainerLifecycle {
        final Map<String, CompletableFuture<Void>> writes = new ConcurrentHashMap<>();
        /** The containers whose journal write the pipeline asked for (an outcome was built). */
        final java.util.Set<String> asked = ConcurrentHashMap.newKeySet();

        @Override
        public EnforcementResult started(ContainerEvent event, Enforcement enforcement) throws InterruptedException {
            return NONE.started(event, enforcement);
        }

        @Override
        public Optional<String> stopped(ContainerEvent event) {
            return NONE.stopped(event);
        }

        @Override
        public CompletableFuture<Void> journaled(String containerId) {
            asked.add(containerId);
            return writes.computeIfAbsent(containerId, c -> new CompletableFuture<>());
        }
    }

    private static long committed(PipelineFixture f) {
        return f.committed(NODE, 1).getOrDefault(new TopicPartition(f.events, 0), -1L);
    }

    private static List<String> committedOutcomeEventIds(PipelineFixture f) {
        OutcomeCodec codec = new OutcomeCodec();
        try (KafkaConsumer<byte[], byte[]> c = TestKafka.reader(true)) {
            TopicPartition tp = new TopicPartition(f.outcomesTopic, 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            long end = c.endOffsets(List.of(tp)).get(tp);
            List<String> ids = new java.util.ArrayList<>();
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (c.position(tp) < end && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    ids.add(codec.decode(r.value()).eventId());
                }
            }
            return ids;
        }
    }

    @ParameterizedTest(name = "exactly-once {0}")
    @ValueSource(booleans = {false, true})
    void anEventsOffsetIsNotCommittedBeforeItsLiveSetEntryIsJournaled(boolean exactlyOnce) {
        try (PipelineFixture f = new PipelineFixture(1)) {
            HeldJournal journal = new HeldJournal();
            journal.writes.put("c-2", CompletableFuture.completedFuture(null));
            RecordMetadata held = f.sendEvent("e-1", NODE, "task-1", "c-1");
            RecordMetadata last = f.sendEvent("e-2", NODE, "task-1", "c-2");
            f.start(f.settings(NODE).exactlyOnce(exactlyOnce), new RecordingEnforcer(),
                    new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN), journal);

            // both events enforced and their outcomes built: what follows is the pipeline's doing, not a slow start
            await().atMost(Duration.ofSeconds(30)).until(() -> journal.asked.containsAll(List.of("c-1", "c-2")));
            if (exactlyOnce) { // nothing is committed, outcomes included, while the first write is held
                await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(5))
                        .until(() -> committed(f) <= held.offset() && committedOutcomeEventIds(f).isEmpty());
            } else { // both outcomes are out, but the commit stops at the event whose write is held
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> f.outcomes().stream().map(Outcome::eventId).toList().containsAll(List.of("e-1", "e-2")));
                await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(5))
                        .until(() -> committed(f) <= held.offset());
            }

            journal.writes.get("c-1").complete(null);
            await().atMost(Duration.ofSeconds(30)).until(() -> committed(f) == last.offset() + 1);
            if (exactlyOnce) {
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> committedOutcomeEventIds(f).equals(List.of("e-1", "e-2")));
            }
        }
    }
}
