package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.event.Outcome;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Helper 189 #3: a reconciler outcome whose send fails for good is published again by the next
 * resync that finds the container as recorded. Before, its entry recorded it as reported whether
 * or not it went out, and the outcomes topic kept saying what was true before the correction (the
 * old policy applied, a deleted policy's container not quarantined) until the state changed again.
 */
class ReconcilerUnsentOutcomeTest extends ReconcilerFixture {
    /** How many tracked sends still fail. */
    private final AtomicInteger failing = new AtomicInteger();

    @Override
    OutcomePublisher publisher() {
        return new OutcomePublisher() {
            @Override
            public void publish(Outcome outcome) {
                published.add(outcome);
            }

            @Override
            public CompletableFuture<Void> publishTracked(Outcome outcome) {
                if (failing.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                    return CompletableFuture.failedFuture(new IllegalStateException("refused for good"));
                }
                published.add(outcome);
                return CompletableFuture.completedFuture(null);
            }
        };
    }

    @Test
    void anUpdatesOutcomeThatDidNotGoOutIsPublishedByTheNextResync() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        failing.set(1);

        policies.put("task-1", ALLOW_B);
        await().atMost(Duration.ofSeconds(10)).until(() -> failing.get() == 0
                && enforcer.calls.contains("enforce c1"));
        String digest = reconciler.liveSet().get("c1").orElseThrow().policyDigest();
        assertThat(published).as("the update's outcome did not go out").isEmpty();

        reconciler.resyncNow();

        await().atMost(Duration.ofSeconds(10)).until(() -> !published.isEmpty());
        assertThat(published).singleElement().satisfies(o -> {
            assertThat(o.status()).isEqualTo("applied");
            assertThat(o.policyDigest()).isEqualTo(digest);
        });

        published.clear();
        reconciler.resyncNow();
        assertThat(published).as("said once again, not at every resync").isEmpty();
    }

    @Test
    void aDeletedPolicysQuarantineThatDidNotGoOutIsPublishedByTheNextResync() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        failing.set(1);

        policies.delete("task-1");
        await().atMost(Duration.ofSeconds(10)).until(() -> failing.get() == 0
                && enforcer.calls.stream().anyMatch(c -> c.startsWith("failClosed c1")));
        assertThat(published).isEmpty();

        reconciler.resyncNow();

        await().atMost(Duration.ofSeconds(10)).until(() -> !published.isEmpty());
        assertThat(published).singleElement().satisfies(o -> {
            assertThat(o.errorCode()).isEqualTo("POLICY_NOT_FOUND");
            assertThat(o.quarantined()).isTrue();
        });
    }
}
