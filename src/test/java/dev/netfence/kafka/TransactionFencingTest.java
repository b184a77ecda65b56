package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.event.Outcome;
import dev.netfence.event.OutcomeCodec;
import dev.netfence.kafka.testkit.TestKafka;
import dev.netfence.policy.store.FakePolicies;
import dev.netfence.policy.store.InMemoryPolicyStore;
import dev.netfence.testkit.KafkaLane;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Collectors;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * Zombie fencing in exactly-once {@code node-partition} mode, where the per-node
 * {@code transactional.id} is the only fence (a hand-assigned consumer has no group generation): while the pipeline is in the middle of the stream (one
 * event held inside the enforcer, later ones finished and waiting for their transaction), a
 * second producer with the same {@code transactional.id} ({@code netfence-<nodeId>}, what a
 * restarted instance uses) initialises its transactions. The pipeline's next transaction is
 * fenced; it must drop its clients rather than continue, resume from the committed offsets and
 * redo the rest (after standing by), and a read_committed reader must see exactly one outcome per event.
 */
@KafkaLane
class TransactionFencingTest {
    private static final OutcomeCodec CODEC = new OutcomeCodec();

    @Test
    void aSecondProducerWithTheSameTransactionalIdFencesThePipelineAndNoOutcomeIsCommittedTwice() {
        String node = "fence-" + java.util.UUID.randomUUID().toString().substring(0, 8);
        try (PipelineFixture f = new PipelineFixture(1)) {
            InMemoryPolicyStore store = new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN);
            RecordingEnforcer enforcer = new RecordingEnforcer();
            enforcer.hold("c-held");
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                String id = "ev-" + i;
                f.sendEvent(id, node, "task-1", i == 10 ? "c-held" : "c-" + i);
                ids.add(id);
            }
            f.start(f.settings(node).exactlyOnce(true).assignment(Assignment.NODE_PARTITION), enforcer, store);
            await().atMost(Duration.ofSeconds(60)).until(() -> committed(f).keySet().containsAll(ids.subList(0, 10)));
            assertThat(committed(f)).doesNotContainKey("ev-10");

            try (KafkaProducer<byte[], byte[]> zombieKiller = transactionalProducer("netfence-" + node)) {
                zombieKiller.initTransactions();
                enforcer.release("c-held");

                await().atMost(Duration.ofSeconds(90)).until(() -> committed(f).keySet().containsAll(ids));
            }

            Map<String, Long> perEvent = committed(f);
            assertThat(perEvent.keySet()).containsExactlyInAnyOrderElementsOf(ids);
            assertThat(perEvent).allSatisfy((id, n) -> assertThat(n).as("committed outcomes of %s", id).isEqualTo(1L));
            assertThat(enforcer.appliedTo("c-held"))
                    .as("the fenced pipeline dropped its work and redid the held event after resuming").hasSize(2);
        }
    }

    private static Map<String, Long> committed(PipelineFixture f) {
        return DeliveryLedger.read(f.outcomesTopic, true).stream().map(r -> CODEC.decode(r.value()))
                .collect(Collectors.groupingBy(Outcome::eventId, Collectors.counting()));
    }

    private static KafkaProducer<byte[], byte[]> transactionalProducer(String transactionalId) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, TestKafka.bootstrapServers());
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }
}
