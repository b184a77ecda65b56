package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.event.Outcome;
import dev.netfence.event.OutcomeCodec;
import dev.netfence.kafka.testkit.StallingProxy;
import dev.netfence.kafka.testkit.TestKafka;
import dev.netfence.policy.store.FakePolicies;
import dev.netfence.policy.store.InMemoryPolicyStore;
import dev.netfence.testkit.RunsAlone;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.kafka.common.protocol.ApiKeys;
import org.junit.jupiter.api.Test;

/**
 * Issue 11 item 8, against the real broker: a {@code commitTransaction} that times out must be
 * retried, not aborted (Kafka refuses that abort with an {@code IllegalStateException}). The
 * pipeline's producer reaches the broker through a {@link StallingProxy} that holds the next
 * {@code EndTxn} request (the commit) for 14 s, longer than the producer's {@code max.block.ms}
 * (4 s) but within the sink's five attempts. The commit must complete on a later attempt: each
 * event is enforced once and has exactly one committed outcome, and the pipeline goes on with new
 * events. On the code before the fix, the abort threw, the poll loop recreated its clients, the
 * held commit was never delivered (its connection closed), the new producer aborted the
 * transaction, and the events were enforced a second time.
 */
@RunsAlone
class CommitTimeoutTest {
    private static final OutcomeCodec CODEC = new OutcomeCodec();
    private static final Duration HOLD = Duration.ofSeconds(14);

    @Test
    void aCommitThatTimesOutWhileTheBrokerStallsIsRetriedSoEveryEventIsEnforcedOnceWithOneCommittedOutcome() {
        // needs the embedded broker's PROXIED listener; with KAFKA_BOOTSTRAP_SERVERS or Docker there is none
        StallingProxy proxy = TestKafka.embeddedFor("this test stalls the broker's requests through its proxy").proxy();
        try (PipelineFixture f = new PipelineFixture(1)) {
            InMemoryPolicyStore store = new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN);
            RecordingEnforcer enforcer = new RecordingEnforcer();
            EventPipeline p = f.start(f.settings("n1").exactlyOnce(true).kafka(f.kafka(Map.of(
                    "bootstrap.servers", proxy.bootstrapServers(),
                    "max.block.ms", 4000,
                    // the broker would abort a transaction open longer than this on its own
                    "transaction.timeout.ms", 60_000))), enforcer, store);

            List<String> ids = new ArrayList<>();
            publish(f, "warm", 3, ids);
            await().atMost(Duration.ofSeconds(60)).until(() -> committedOutcomes(f).keySet().containsAll(ids));

            proxy.stall(ApiKeys.END_TXN.id, HOLD, 1);
            int heldBefore = proxy.held();
            publish(f, "stalled", 10, ids);
            await().atMost(Duration.ofSeconds(60)).until(() -> proxy.held() > heldBefore);
            await().atMost(Duration.ofSeconds(90)).until(() -> committedOutcomes(f).keySet().containsAll(ids));

            publish(f, "after", 5, ids);
            await().atMost(Duration.ofSeconds(60)).until(() -> committedOutcomes(f).keySet().containsAll(ids));
            assertThat(committedOutcomes(f)).as("exactly one committed outcome per event")
                    .hasSize(ids.size()).allSatisfy((id, n) -> assertThat(n).as(id).isEqualTo(1L));
            assertThat(ids).allSatisfy(id -> assertThat(enforcer.appliedTo("c-" + id)).as("enforcements of " + id)
                    .hasSize(1));
            assertThat(proxy.dropped()).as("the held commit was delivered, not abandoned with its connection")
                    .isZero();
            assertThat(p.alive()).isTrue();
        } finally {
            proxy.stall(ApiKeys.END_TXN.id, Duration.ZERO, 0);
        }
    }

    private static void publish(PipelineFixture f, String prefix, int n, List<String> ids) {
        for (int i = 0; i < n; i++) {
            String id = prefix + "-" + i;
            f.sendEvent(id, "n1", "task-1", "c-" + id);
            ids.add(id);
        }
    }

    private static Map<String, Long> committedOutcomes(PipelineFixture f) {
        return DeliveryLedger.read(f.outcomesTopic, true).stream().map(r -> CODEC.decode(r.value()))
                .collect(Collectors.groupingBy(Outcome::eventId, Collectors.counting()));
    }
}
