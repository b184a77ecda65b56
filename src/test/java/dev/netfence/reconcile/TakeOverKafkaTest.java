package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.netns.NamespaceId;
import dev.netfence.testkit.KafkaLane;
import dev.netfence.kafka.testkit.TestKafka;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * The take-over against the real broker: two instances of one node journal into one
 * enforcements topic, each through its own producer, as a rolling update with surge runs them.
 * The instance that takes the partitions over reads what the other one wrote after its own start
 * ({@link TakeOver}); before, it knew only what it read at its start and the events it handled.
 */
@KafkaLane
class TakeOverKafkaTest {
    private static final NamespaceId NS_A = new NamespaceId(4, 4026532001L);
    private static final NamespaceId NS_B = new NamespaceId(4, 4026532002L);

    @Test
    void theInstanceThatTakesOverLearnsWhatTheOtherStartedChangedAndReleasedMeanwhile() throws Exception {
        String topic = TestKafka.uniqueTopic("enforcements");
        TestKafka.createCompactedTopic(topic, 3);
        Map<String, Object> kafka = Map.of("bootstrap.servers", TestKafka.bootstrapServers());
        EnforcementsTopic older = new EnforcementsTopic(kafka, topic);
        older.record(TakeOverTest.entry("c0", NS_A, "sha256:a"));
        older.record(TakeOverTest.entry("c9", NS_A, "sha256:a"));
        older.flush();

        // the newer instance starts: it reads the journal once
        EnforcementsTopic newerJournal = new EnforcementsTopic(kafka, topic);
        LiveSet newer = new LiveSet(newerJournal, new SimpleMeterRegistry());
        EnforcementsTopic.load(kafka, topic, "node-1"::equals, Duration.ofSeconds(30)).forEach(newer::restore);
        assertThat(newer.all()).extracting(LiveContainer::containerId).containsExactlyInAnyOrder("c0", "c9");

        // meanwhile the older instance handles events: c1 started, c0's policy changed, c9 stopped
        older.record(TakeOverTest.entry("c1", NS_B, "sha256:b"));
        older.record(TakeOverTest.entry("c0", NS_A, "sha256:a2"));
        older.remove("c9");
        older.close();
        // and the newer one handles one of its own just before it takes over
        newer.put(TakeOverTest.entry("c5", NS_B, "sha256:b"));

        List<String> calls = new CopyOnWriteArrayList<>();
        List<java.util.Set<String>> checked = new CopyOnWriteArrayList<>();
        java.util.Set<String> running = java.util.Set.of("c0", "c1", "c5"); // c9's process is gone
        try (TakeOver takeOver = new TakeOver(newer, new ContainerLocks(), TakeOverTest.recordingOwners(calls),
                c -> running.contains(c.containerId()), id -> { }, new TakeOver.Journal() {
                    @Override
                    public void flush() throws InterruptedException {
                        newerJournal.flush();
                    }

                    @Override
                    public Collection<String> unwritten() {
                        return newerJournal.unwritten();
                    }

                    @Override
                    public List<LiveContainer> read() throws InterruptedException {
                        return EnforcementsTopic.load(kafka, topic, "node-1"::equals, Duration.ofSeconds(10),
                                Duration.ofSeconds(60));
                    }
                }, (epoch, ids) -> checked.add(ids), () -> 0L, java.time.Clock.systemUTC())) {
            takeOver.runOnce();
        } finally {
            newerJournal.close();
        }

        assertThat(newer.all()).extracting(LiveContainer::containerId, LiveContainer::policyDigest)
                .containsExactlyInAnyOrder(org.assertj.core.groups.Tuple.tuple("c0", "sha256:a2"),
                        org.assertj.core.groups.Tuple.tuple("c1", "sha256:b"),
                        org.assertj.core.groups.Tuple.tuple("c5", "sha256:b"),
                        org.assertj.core.groups.Tuple.tuple("c9", "sha256:a")); // until its correction releases it
        // each adopted one shares its namespace with another entry: what the members there hold is read again
        // (c5, kept as it was, too; not c9, whose process is gone)
        assertThat(calls).containsExactlyInAnyOrder("owner c0 sha256:a2", "owner c1 sha256:b", "joined c0", "joined c1",
                "joined c5");
        assertThat(checked).containsExactly(java.util.Set.of("c0", "c1", "c9"));
    }
}
