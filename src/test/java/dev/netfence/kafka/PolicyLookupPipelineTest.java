package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.event.Outcome;
import dev.netfence.policy.store.FakePolicies;
import dev.netfence.policy.store.InMemoryPolicyStore;
import dev.netfence.testkit.KafkaLane;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

@KafkaLane
class PolicyLookupPipelineTest {
    @Test
    void aPolicyPublishedAfterItsEventIsStillFoundWithinTheWait() throws Exception {
        try (PipelineFixture f = new PipelineFixture(1)) {
            InMemoryPolicyStore store = new InMemoryPolicyStore();
            RecordingEnforcer enforcer = new RecordingEnforcer();
            f.start(f.settings("n1").eventDeadline(Duration.ofSeconds(60)).policyWait(Duration.ofSeconds(30)).shutdownTimeout(Duration.ofSeconds(10)),
                    enforcer, store);
            f.sendEvent("e-late", "n1", "task-late", "c-late");
            await().atMost(Duration.ofSeconds(30)).until(() -> f.counter("netfence.events.consumed", "type",
                    "container.started") == 1);
            await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(10)).until(() -> f.outcomes().isEmpty());
            store.put("task-late", FakePolicies.CLOSED);
            await().atMost(Duration.ofSeconds(30)).until(() -> f.outcomes().size() == 1);
            assertThat(f.outcomes().get(0).status()).isEqualTo("applied");
            assertThat(enforcer.appliedTo("c-late")).containsExactly(FakePolicies.CLOSED);
        }
    }

    @Test
    void aMissingPolicyEndsInPolicyNotFoundAndAnInvalidOneInInvalidPolicy() {
        try (PipelineFixture f = new PipelineFixture(1)) {
            InMemoryPolicyStore store = new InMemoryPolicyStore().putInvalid("task-bad", "mode host is refused");
            RecordingEnforcer enforcer = new RecordingEnforcer();
            f.sendEvent("e-missing", "n1", "task-missing", "c-1");
            f.sendEvent("e-bad", "n1", "task-bad", "c-2");
            f.start(f.settings("n1").eventDeadline(Duration.ofSeconds(30)).policyWait(Duration.ofMillis(300)).shutdownTimeout(Duration.ofSeconds(10)),
                    enforcer, store);
            await().atMost(Duration.ofSeconds(60)).until(() -> f.outcomes().size() == 2);
            Map<String, Outcome> byId = f.outcomes().stream().collect(Collectors.toMap(Outcome::eventId, o -> o));
            assertThat(byId.get("e-missing").status()).isEqualTo("failed");
            assertThat(byId.get("e-missing").errorCode()).isEqualTo("POLICY_NOT_FOUND");
            assertThat(byId.get("e-bad").errorCode()).isEqualTo("INVALID_POLICY");
            assertThat(byId.get("e-bad").error().message()).contains("mode host is refused");
            assertThat(enforcer.calls()).isZero();
        }
    }

    @Test
    void theFailClosedHandlerDecidesWhatAMissingPolicyDoesToTheContainer() {
        try (PipelineFixture f = new PipelineFixture(1)) {
            java.util.List<String> quarantined = new java.util.concurrent.CopyOnWriteArrayList<>();
            PolicyFailureHandler handler = (containerId, runtime, pid, netns, code, message) -> {
                quarantined.add(containerId + ":" + code.code());
                return dev.netfence.core.EnforcementResult.failure(code, message).backend("iptables-nft")
                        .families(java.util.List.of("ipv4", "ipv6")).ruleCount(4).quarantined(true).attempts(1).build();
            };
            EventPipeline p = new EventPipeline(
                    f.settings("n1").eventDeadline(Duration.ofSeconds(30)).policyWait(Duration.ofMillis(200)).shutdownTimeout(Duration.ofSeconds(10)).build(),
                    new RecordingEnforcer(), handler, new InMemoryPolicyStore(), f.registry, java.time.Clock.systemUTC());
            try (p) {
                p.start();
                f.sendEvent("e-1", "n1", "task-none", "c-q");
                await().atMost(Duration.ofSeconds(60)).until(() -> f.outcomes().size() == 1);
                assertThat(quarantined).containsExactly("c-q:POLICY_NOT_FOUND");
                assertThat(f.outcomes().get(0).quarantined()).isTrue();
            }
        }
    }
}
