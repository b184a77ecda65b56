package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.core.EnforcementResult;
import dev.netfence.event.ContainerEvent;
import dev.netfence.event.Outcome;
import dev.netfence.event.OutcomeCodec;
import dev.netfence.event.Outcomes;
import dev.netfence.kafka.KafkaOutcomePublisher;
import dev.netfence.kafka.testkit.TestKafka;
import dev.netfence.netns.NamespaceId;
import dev.netfence.testkit.KafkaLane;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Review 200 #2 against the real broker: a policy update's outcome the outcomes topic refuses
 * ({@code max.message.bytes} 300), netfence stopped, the topic mended, netfence started again over
 * the same enforcements topic. Before, the journal had recorded the new policy as reported before
 * the topic took its outcome, and the promise to say it again lived only in memory: after the
 * restart no outcome came, the topic showing the old policy while the new one was in force. Each
 * instance is what {@code ContinuousEnforcement} wires: a live set over an {@link EnforcementsTopic}
 * (read back with {@link EnforcementsTopic#load} at start), a {@link KafkaOutcomePublisher}, a
 * {@link Reconciler}; the rules in force (the fake enforcer) outlive the instance, as a
 * namespace's do.
 */
@KafkaLane
class UnsentOutcomeRestartKafkaTest {
    private static final String P1 = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.18.0.2:80\"]}";
    private static final String P2 = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.18.0.3:80\"]}";
    private static final int PID = 4242;
    private static final OutcomeCodec CODEC = new OutcomeCodec();

    @TempDir
    Path proc;

    private final FakeEnforcer enforcer = new FakeEnforcer();
    private final MapPolicyStore policies = new MapPolicyStore();
    private final String enforcements = TestKafka.uniqueTopic("enforcements");
    private final String outcomes = TestKafka.uniqueTopic("outcomes");
    private final Map<String, Object> kafka = Map.of("bootstrap.servers", TestKafka.bootstrapServers());
    private Instance running;

    @BeforeEach
    void topicsAndANamespace() throws Exception {
        TestKafka.createCompactedTopic(enforcements, 1);
        TestKafka.createTopics(1, outcomes);
        Path ns = Files.createDirectories(proc.resolve(PID + "/ns")).resolve("net");
        Files.writeString(ns, "");
        NamespaceId id = NamespaceId.of(ns);
        enforcer.device = id.device();
        enforcer.inode = id.inode();
    }

    @AfterEach
    void stop() {
        if (running != null) {
            running.close();
        }
    }

    @Test
    void aPolicyUpdatesOutcomeTheTopicRefusedIsPublishedAtTheFirstResyncAfterARestart() throws Exception {
        policies.put("t1", P1);
        running = new Instance();
        running.start("c1", "t1");
        setMaxMessageBytes(outcomes, 300);

        policies.put("t1", P2);
        await().atMost(Duration.ofSeconds(30)).until(() -> running.unpublished() >= 1);
        String p2 = running.live.get("c1").orElseThrow().policyDigest();
        running.reconciler.resyncNow(); // said again, and refused again
        await().atMost(Duration.ofSeconds(30)).until(() -> running.unpublished() >= 2);
        running.close(); // SIGTERM

        setMaxMessageBytes(outcomes, 1024 * 1024);
        assertThat(reconcilerOutcomes()).as("nothing of the update reached the topic").isEmpty();
        running = new Instance();
        await().atMost(Duration.ofSeconds(30)).until(() -> running.reconciler.cycles() >= 1); // the first resync

        await().atMost(Duration.ofSeconds(30)).until(() -> !reconcilerOutcomes().isEmpty());
        assertThat(reconcilerOutcomes()).singleElement().satisfies(o -> {
            assertThat(o.status()).isEqualTo("applied");
            assertThat(o.policyDigest()).as("the policy in force").isEqualTo(p2);
        });
        assertThat(enforcer.calls).as("said, not applied again").filteredOn(call -> call.startsWith("enforce"))
                .containsExactly("enforce c1", "enforce c1");
    }

    @Test
    void anAcknowledgedOutcomeIsNotPublishedAgainAfterARestart() throws Exception {
        policies.put("t1", P1);
        running = new Instance();
        running.start("c1", "t1");

        policies.put("t1", P2);
        await().atMost(Duration.ofSeconds(30)).until(() -> reconcilerOutcomes().size() == 1);
        await().atMost(Duration.ofSeconds(10)).until(() -> !running.live.get("c1").orElseThrow()
                .outcomeUnacknowledged());
        running.close();

        running = new Instance();
        await().atMost(Duration.ofSeconds(30)).until(() -> running.reconciler.cycles() >= 1);
        running.reconciler.resyncNow();
        running.close(); // every outcome sent is on the topic now, or counted unpublished
        running = null;

        assertThat(reconcilerOutcomes()).as("the update's outcome, once").singleElement()
                .satisfies(o -> assertThat(o.trigger()).isEqualTo("policy-update"));
    }

    /** The reconciler's outcomes on the topic (the start's, which the pipeline sends, is not there: no pipeline runs). */
    private List<Outcome> reconcilerOutcomes() {
        return TestKafka.readAll(outcomes).stream().map(r -> CODEC.decode(r.value())).toList();
    }

    private static void setMaxMessageBytes(String topic, int bytes) throws Exception {
        try (Admin admin = TestKafka.admin()) {
            ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            admin.incrementalAlterConfigs(Map.of(r, List.of(new AlterConfigOp(
                    new ConfigEntry("max.message.bytes", Integer.toString(bytes)), AlterConfigOp.OpType.SET))))
                    .all().get(30, TimeUnit.SECONDS);
        }
    }

    /** One netfence: its journal read back, its reconciler started (its first resync runs at once). */
    private final class Instance implements AutoCloseable {
        final SimpleMeterRegistry registry = new SimpleMeterRegistry();
        final EnforcementsTopic journal = new EnforcementsTopic(kafka, enforcements);
        final KafkaOutcomePublisher publisher = new KafkaOutcomePublisher(kafka, outcomes, "node-1/1", "node-1",
                registry);
        final LiveSet live = new LiveSet(journal, registry);
        final Reconciler reconciler;

        Instance() throws InterruptedException {
            EnforcementsTopic.load(kafka, enforcements, "node-1"::equals, Duration.ofSeconds(30)).forEach(live::restore);
            reconciler = new Reconciler(live, enforcer, policies, new Outcomes(Clock.systemUTC(), "node-1/1", "test"),
                    publisher, new HostGuards() {
                        @Override
                        public void release(String containerId) {
                        }

                        @Override
                        public void sweep() {
                        }
                    }, Clock.systemUTC(), Clock.systemUTC(), registry, "node-1", Duration.ofHours(1), 2,
                    Duration.ofSeconds(30), proc).start();
        }

        /** As the pipeline starts a container: enforced, recorded, its outcome out. */
        void start(String id, String task) throws Exception {
            ContainerEvent ev = new ContainerEvent(1, ContainerEvent.CONTAINER_STARTED, "ev-" + id, Instant.now(),
                    "node-1", task, id, null, PID);
            var request = new dev.netfence.enforce.EnforcementRequest(id, null, PID,
                    ((dev.netfence.policy.store.StoredPolicy.Valid) policies.lookup(task).orElseThrow()).policy(),
                    Instant.now().plusSeconds(30));
            EnforcementResult r = reconciler.started(ev, () -> enforcer.enforce(request));
            assertThat(r.status()).isEqualTo("applied");
            reconciler.published(new Outcomes(Clock.systemUTC(), "node-1/1", "test").of(ev, r, false));
            live.journaled(id).get(30, TimeUnit.SECONDS);
        }

        double unpublished() {
            return registry.find("netfence.outcomes.unpublished").counters().stream().mapToDouble(c -> c.count()).sum();
        }

        @Override
        public void close() {
            reconciler.close();
            journal.close();
            publisher.close();
        }
    }
}
