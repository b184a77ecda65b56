package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.policy.store.FakePolicies;
import dev.netfence.policy.store.InMemoryPolicyStore;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * A policy store that caught up once and then cannot vouch for its policies (the topic read
 * again, its reader stopped) turns readiness false with its reason, while events go on under the
 * policies it holds: before, the store reported itself not caught up, and a pipeline whose Kafka
 * clients were recreated meanwhile waited for it before reading another event.
 */
class PolicyStoreReadinessTest {
    @Test
    void aStoreThatCannotVouchForItsPoliciesTurnsReadinessFalseAndEventsGoOn() {
        AtomicReference<Optional<String>> problem = new AtomicReference<>(Optional.empty());
        InMemoryPolicyStore store = new InMemoryPolicyStore() {
            @Override
            public Optional<String> notReadyReason() {
                return problem.get();
            }
        }.put("task-1", FakePolicies.OPEN);
        try (PipelineFixture f = new PipelineFixture(1)) {
            EventPipeline p = f.start(f.settings("n1"), new RecordingEnforcer(), store);
            f.sendEvent("e-0", "n1", "task-1", "c-0");
            await().atMost(Duration.ofSeconds(60)).until(() -> f.outcomes().size() == 1);
            await().atMost(Duration.ofSeconds(30)).until(p::ready);

            problem.set(Optional.of("the policies topic is read again"));
            assertThat(p.notReadyReason()).contains("the policies topic is read again");
            f.sendEvent("e-1", "n1", "task-1", "c-1");
            await().atMost(Duration.ofSeconds(60)).until(() -> f.outcomes().size() == 2);

            problem.set(Optional.empty());
            await().atMost(Duration.ofSeconds(30)).until(p::ready);
        }
    }
}
