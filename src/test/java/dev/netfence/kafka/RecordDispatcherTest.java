package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.event.EventDecoder;
import dev.netfence.event.OutcomeCodec;
import dev.netfence.event.Outcomes;
import dev.netfence.policy.store.FakePolicies;
import dev.netfence.policy.store.InMemoryPolicyStore;
import dev.netfence.reconcile.ContainerLifecycle;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What the dispatcher does with work whose partition this instance let go (revoked past the
 * handover's bound, lost, fenced, clients made again) before the work's turn came: nothing. The
 * partition's new owner reads those records again; enforcing them here too, late, would undo what
 * it did since.
 */
class RecordDispatcherTest {
    private static final String NODE = "n1";
    private final RecordingEnforcer enforcer = new RecordingEnforcer();
    private final KeyedExecutor workers = new KeyedExecutor(2, "dispatcher-test");
    private final List<Long> emitted = new CopyOnWriteArrayList<>();
    /** Run by the test as the poll thread would run them: outputs reach the emitter through them. */
    private final Completions completions = new Completions();

    @AfterEach
    void stop() {
        enforcer.release("c-1");
        workers.shutdown(1000);
    }

    private RecordDispatcher dispatcher(InMemoryPolicyStore store) {
        return dispatcher(store, ContainerLifecycle.NONE);
    }

    private RecordDispatcher dispatcher(InMemoryPolicyStore store, ContainerLifecycle lifecycle) {
        PipelineSettings settings = PipelineSettings.custom().bootstrapServers("localhost:1").nodeId(NODE)
                .eventsTopic("events").outcomesTopic("outcomes").version("test").build();
        NodeRouting routing = new NodeRouting(NODE);
        Outcomes outcomes = new Outcomes(Clock.systemUTC(), NODE + "/1", "test");
        EventHandler handler = new EventHandler(store, enforcer, PolicyFailureHandler.REPORT_ONLY, outcomes,
                Clock.systemUTC(), Duration.ofSeconds(30), Duration.ofSeconds(30), lifecycle);
        return new RecordDispatcher(new RecordRouter(new EventDecoder(), routing, new KeylessOwnership(settings, routing),
                true), new PipelineMetrics(new SimpleMeterRegistry(), Clock.systemUTC()), workers, handler,
                new OutputRecords(new OutcomeCodec(), "outcomes", "dlq", NODE + "/1", NODE), outcomes, completions,
                (po, offset, outs, journaled) -> emitted.add(offset), new ProblemLog(Clock.systemUTC()));
    }

    private static ConsumerRecord<byte[], byte[]> record(long offset, String eventId, String task) {
        return new ConsumerRecord<>("events", 0, offset, NODE.getBytes(), PipelineFixture.event(eventId, NODE, task, "c-1"));
    }

    @Test
    void anEventQueuedBehindOneRunningIsNotEnforcedOnceItsPartitionWasLetGo() {
        RecordDispatcher dispatcher = dispatcher(new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN));
        PartitionOffsets po = new PartitionOffsets(new TopicPartition("events", 0));
        enforcer.hold("c-1");
        dispatcher.dispatch(po, record(100, "e-100", "task-1"));
        await().atMost(Duration.ofSeconds(10)).until(() -> workers.running() == 1); // e-100 is being enforced
        dispatcher.dispatch(po, record(101, "e-101", "task-1")); // queued behind it, the container's order

        po.release(); // fenced: the other instance reads both again from the last commit
        enforcer.release("c-1");

        await().atMost(Duration.ofSeconds(10)).until(() -> workers.activeKeys() == 0);
        assertThat(enforcer.appliedTo("c-1")).as("only the event already running when the partition went").hasSize(1);
    }

    @Test
    void anEventWaitingForItsPolicyIsNotEnforcedWhenThePolicyArrivesAfterItsPartitionWent() {
        InMemoryPolicyStore store = new InMemoryPolicyStore();
        RecordDispatcher dispatcher = dispatcher(store);
        PartitionOffsets po = new PartitionOffsets(new TopicPartition("events", 0));
        dispatcher.dispatch(po, record(100, "e-100", "task-2")); // parks: no policy yet
        await().atMost(Duration.ofSeconds(10)).until(() -> workers.activeKeys() == 1);

        po.release();
        store.put("task-2", FakePolicies.OPEN);

        await().atMost(Duration.ofSeconds(10)).until(() -> workers.activeKeys() == 0);
        completions.runAll();
        assertThat(enforcer.calls()).as("nothing enforced for a partition that is another's").isZero();
        assertThat(emitted).isEmpty();
    }

    @Test
    void anEventOfAPartitionStillHeldIsEnforcedAndEmitted() {
        RecordDispatcher dispatcher = dispatcher(new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN));
        PartitionOffsets po = new PartitionOffsets(new TopicPartition("events", 0));

        dispatcher.dispatch(po, record(100, "e-100", "task-1"));

        await().atMost(Duration.ofSeconds(10)).until(() -> {
            completions.runAll();
            return emitted.contains(100L);
        });
        assertThat(enforcer.appliedTo("c-1")).hasSize(1);
    }

    @Test
    void aRecordDeadLetteredAndAnEventThatFailedEachLeaveAWarningNamingWhereTheyWereRead() {
        RecordDispatcher dispatcher = dispatcher(new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN));
        PartitionOffsets po = new PartitionOffsets(new TopicPartition("events", 0));
        enforcer.failNext("c-1", dev.netfence.core.ErrorCode.FIREWALL_UNAVAILABLE, "nsenter: not found");

        try (dev.netfence.testkit.CapturedLogs logs = dev.netfence.testkit.CapturedLogs.of(ProblemLog.class)) {
            dispatcher.dispatch(po, new ConsumerRecord<>("events", 0, 99, NODE.getBytes(), "not json".getBytes()));
            dispatcher.dispatch(po, record(100, "e-100", "task-1"));
            await().atMost(Duration.ofSeconds(10)).until(() -> {
                completions.runAll();
                return emitted.contains(100L);
            });

            assertThat(logs.messages(ch.qos.logback.classic.Level.WARN)).satisfiesExactly(
                    line -> assertThat(line).startsWith("record events-0@99 dead-lettered: MALFORMED_EVENT "),
                    line -> assertThat(line).startsWith("event e-100 of container c-1 (task task-1, record events-0@100)"
                            + " failed").endsWith("FIREWALL_UNAVAILABLE nsenter: not found"));
        }
    }

    @Test
    void anEventsOutcomeWaitsUntilItIsReportableAndTheContainersNextEventWaitsForIt() {
        java.util.Map<String, java.util.concurrent.CompletableFuture<Void>> held = new java.util.concurrent.ConcurrentHashMap<>();
        ContainerLifecycle lifecycle = new ContainerLifecycle() {
            @Override
            public dev.netfence.core.EnforcementResult started(dev.netfence.event.ContainerEvent event,
                    Enforcement enforcement) throws InterruptedException {
                return NONE.started(event, enforcement);
            }

            @Override
            public java.util.Optional<String> stopped(dev.netfence.event.ContainerEvent event) {
                return NONE.stopped(event);
            }

            @Override // e-100 follows a correction of c-1 not yet acknowledged
            public java.util.concurrent.CompletableFuture<Void> reportable(String containerId, String eventId) {
                return held.computeIfAbsent(eventId, id -> id.equals("e-100") ? new java.util.concurrent.CompletableFuture<>()
                        : java.util.concurrent.CompletableFuture.completedFuture(null));
            }
        };
        RecordDispatcher dispatcher = dispatcher(new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN), lifecycle);
        PartitionOffsets po = new PartitionOffsets(new TopicPartition("events", 0));

        dispatcher.dispatch(po, record(100, "e-100", "task-1"));
        dispatcher.dispatch(po, record(101, "e-101", "task-1"));
        await().atMost(Duration.ofSeconds(10)).until(() -> held.containsKey("e-100"));
        completions.runAll();
        assertThat(emitted).as("not before the correction ahead of it is acknowledged").isEmpty();
        assertThat(enforcer.appliedTo("c-1")).as("the container's next event waits for this one's outcome").hasSize(1);

        held.get("e-100").complete(null);
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            completions.runAll();
            return emitted.size() == 2;
        });
        assertThat(emitted).containsExactly(100L, 101L);
    }
}
