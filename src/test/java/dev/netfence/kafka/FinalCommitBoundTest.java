package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.kafka.testkit.StallingProxy;
import dev.netfence.kafka.testkit.TestKafka;
import dev.netfence.policy.store.FakePolicies;
import dev.netfence.policy.store.InMemoryPolicyStore;
import dev.netfence.testkit.RunsAlone;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.common.protocol.ApiKeys;
import org.junit.jupiter.api.Test;

/**
 * Against the real broker and client: a stop whose final exactly-once commit the broker does not
 * answer ends within the stop's documented bounds. The pipeline's producer reaches the broker
 * through a {@link StallingProxy} that holds the next {@code EndTxn} (the final commit) for two
 * minutes; the producer's {@code max.block.ms} is the default 60 s, so without the bound the poll
 * thread would wait 60 s for each of the commit's five attempts. With it the producer is closed
 * after 5 s and the poll thread ends; the outcome held in that transaction is not committed (its
 * event is done again by the next owner).
 */
@RunsAlone
class FinalCommitBoundTest {
    @Test
    void aStopWhoseFinalCommitTheBrokerHoldsEndsWithinTheStopsBoundsInsteadOfMinutes() throws Exception {
        // needs the embedded broker's PROXIED listener; with KAFKA_BOOTSTRAP_SERVERS or Docker there is none
        StallingProxy proxy = TestKafka.embeddedFor("this test stalls the broker's requests through its proxy").proxy();
        int heldBefore = proxy.held(); // the proxy is the JVM's: what earlier tests' stalls held counts there too
        try (PipelineFixture f = new PipelineFixture(1)) {
            RecordingEnforcer enforcer = new RecordingEnforcer();
            EventPipeline p = f.start(f.settings("n1").exactlyOnce(true).shutdownTimeout(Duration.ofSeconds(1))
                    .commitInterval(Duration.ofMinutes(10)) // the event's outcome waits for the stop's final commit
                    .kafka(f.kafka(Map.of("bootstrap.servers", proxy.bootstrapServers(),
                            "transaction.timeout.ms", 60_000))), enforcer,
                    new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN));
            f.sendEvent("e-0", "n1", "task-1", "c-0");
            await().atMost(Duration.ofSeconds(60)).until(() -> !enforcer.appliedTo("c-0").isEmpty());
            Thread.sleep(1000); // its outcome handed to the sink

            proxy.stall(ApiKeys.END_TXN.id, Duration.ofMinutes(2), 1);
            p.close();

            assertThat(p.awaitTermination(Duration.ofSeconds(30)))
                    .as("the poll thread ended: drain 1 s, stragglers 2 s, final commit 5 s, closes 2 s each").isTrue();
            assertThat(proxy.held() - heldBefore).as("the final commit reached the proxy and was held there").isPositive();
            assertThat(DeliveryLedger.read(f.outcomesTopic, true)).as("no outcome committed: the event is done again"
                    + " by the next owner").isEmpty();
        } finally {
            proxy.stall(ApiKeys.END_TXN.id, Duration.ZERO, 0);
        }
    }
}
