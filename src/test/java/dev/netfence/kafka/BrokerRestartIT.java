package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.event.Outcome;
import dev.netfence.event.OutcomeCodec;
import dev.netfence.kafka.testkit.KraftBroker;
import dev.netfence.kafka.testkit.TestKafka;
import dev.netfence.policy.store.FakePolicies;
import dev.netfence.policy.store.InMemoryPolicyStore;
import dev.netfence.testkit.RunsAlone;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A broker bounce mid-stream with the embedded broker: the pipeline is working (one event held
 * inside the enforcer), the broker is stopped, the held event finishes while it is away, the
 * broker starts again with the same data on the same port, and more events follow. The service
 * must report not-ready while it cannot reach the broker, become ready again by itself, and give
 * every event an outcome (exactly one committed outcome in exactly-once mode), with no operator
 * action. Runs with Failsafe so the bounce cannot disturb the unit tests' broker.
 */
@RunsAlone
class BrokerRestartIT {
    private static final OutcomeCodec CODEC = new OutcomeCodec();

    @ParameterizedTest(name = "exactlyOnce={0}")
    @ValueSource(booleans = {false, true})
    void theServiceRidesOutABrokerRestartAndReportsNotReadyMeanwhile(boolean exactlyOnce) {
        KraftBroker broker = TestKafka.embeddedFor("this test restarts the broker");
        String node = "bounce-" + java.util.UUID.randomUUID().toString().substring(0, 8);
        try (PipelineFixture f = new PipelineFixture(2)) {
            InMemoryPolicyStore store = new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN);
            RecordingEnforcer enforcer = new RecordingEnforcer();
            enforcer.hold("c-held");
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                ids.add(publish(f, node, i, i == 7 ? "c-held" : "c-" + i));
            }
            EventPipeline pipeline = f.start(f.settings(node).exactlyOnce(exactlyOnce), enforcer, store);
            await().atMost(Duration.ofSeconds(60)).until(pipeline::ready);
            // events share the node key, so one partition: in exactly-once mode the held event caps what commits
            await().atMost(Duration.ofSeconds(60)).until(() -> outcomes(f, exactlyOnce).size() >= 5);

            broker.stop();
            await("not ready while the broker is down").atMost(Duration.ofSeconds(30)).until(() -> !pipeline.ready());
            enforcer.release("c-held");
            await().atMost(Duration.ofSeconds(30)).until(() -> enforcer.appliedTo("c-held").size() >= 1);
            assertThat(pipeline.ready()).as("still not ready: the broker is still down").isFalse();
            broker.restart();

            await("ready again without operator action").atMost(Duration.ofSeconds(90)).until(pipeline::ready);
            for (int i = 20; i < 40; i++) {
                ids.add(publish(f, node, i, "c-" + i));
            }
            await().atMost(Duration.ofSeconds(120)).until(() -> outcomes(f, exactlyOnce).keySet().containsAll(ids));

            Map<String, Long> perEvent = outcomes(f, exactlyOnce);
            assertThat(perEvent.keySet()).containsAll(ids);
            if (exactlyOnce) {
                assertThat(perEvent).allSatisfy((id, n) -> assertThat(n).as("committed outcomes of %s", id).isEqualTo(1L));
            }
        } finally {
            if (!broker.isRunning()) {
                broker.restart();
            }
        }
    }

    private static String publish(PipelineFixture f, String node, int i, String container) {
        String id = node + "-ev-" + i;
        f.sendEvent(id, node, "task-1", container);
        return id;
    }

    private static Map<String, Long> outcomes(PipelineFixture f, boolean readCommitted) {
        return DeliveryLedger.read(f.outcomesTopic, readCommitted).stream().map(r -> CODEC.decode(r.value()))
                .collect(Collectors.groupingBy(Outcome::eventId, Collectors.counting()));
    }
}
