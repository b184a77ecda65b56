package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.core.EnforcementResult;
import dev.netfence.core.ErrorCode;
import dev.netfence.event.ContainerEvent;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Review 203 #2: a container released at a resync, stopped, or found gone by its start event leaves
 * nothing of its outcomes behind, in the order production runs them (its {@code removed} outcome
 * handed over after the release). Before, a refused outcome of a container released kept its id
 * among those whose last outcome was not published, for the life of the process, and when the id
 * came back (podman restart keeps it) its first resync published its state again, "its last outcome
 * was not published", though every outcome of the new instance had gone out.
 */
class ReconcilerForgottenOutcomesTest extends ReconcilerFixture {

    /** Whether the publisher refuses what it is given from now on. */
    private volatile boolean refuse;

    /** Each send refused while {@link #refuse} says so, else acknowledged ({@link #published}). */
    @Override
    OutcomePublisher publisher() {
        return settling(outcome -> {
            if (refuse) {
                return CompletableFuture.failedFuture(new IllegalStateException("refused for good"));
            }
            published.add(outcome);
            return CompletableFuture.completedFuture(null);
        });
    }

    @Test
    void aContainerReleasedAtAResyncWhoseRemovedOutcomeWasRefusedIsNotSaidAgainWhenItsIdComesBack() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        refuse = true;
        Files.delete(nsFile); // its pid left the namespace
        reconciler.resyncNow();
        assertThat(handed).singleElement().satisfies(o -> assertThat(o.status()).isEqualTo("removed"));
        refuse = false;

        comesBack();

        assertThat(published).as("every outcome of the new instance went out: nothing to say again").isEmpty();
    }

    @Test
    void aContainerStoppedWhoseLastOutcomeWasRefusedIsNotSaidAgainWhenItsIdComesBack() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        refuseAPolicyUpdate();
        ContainerEvent stop = event("c1", "task-1", ContainerEvent.CONTAINER_STOPPED);
        reconciler.stopped(stop);
        reconciler.published(EVENT_OUTCOMES.removed(stop, false)); // as the pipeline does once its outcome is out
        assertThat(reconciler.liveSet().get("c1")).isEmpty();

        comesBack();

        assertThat(published).isEmpty();
    }

    @Test
    void aContainerItsStartEventFoundGoneWhoseLastOutcomeWasRefusedIsNotSaidAgainWhenItsIdComesBack()
            throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        refuseAPolicyUpdate();
        Files.delete(nsFile); // gone; a replayed start finds it so and releases it
        ContainerEvent replayed = event("c1", "task-1", ContainerEvent.CONTAINER_STARTED);
        EnforcementResult gone = reconciler.started(replayed, () -> EnforcementResult.skip(
                ErrorCode.CONTAINER_NOT_FOUND, "pid " + PID + " is gone").build());
        reconciler.published(EVENT_OUTCOMES.of(replayed, gone, false));
        assertThat(reconciler.liveSet().get("c1")).isEmpty();

        comesBack();

        assertThat(published).isEmpty();
    }

    /** A policy update of c1's task, applied, its outcome refused. */
    private void refuseAPolicyUpdate() {
        refuse = true;
        policies.put("task-1", ALLOW_B);
        await().atMost(Duration.ofSeconds(10)).until(() -> !handed.isEmpty());
        refuse = false;
    }

    /** The same id started again in a namespace of its own, then a resync reads it back. */
    private void comesBack() throws Exception {
        Files.deleteIfExists(nsFile);
        Files.writeString(nsFile, "");
        dev.netfence.netns.NamespaceId restarted = dev.netfence.netns.NamespaceId.of(nsFile);
        enforcer.device = restarted.device();
        enforcer.inode = restarted.inode();
        ContainerEvent again = event("c1", "task-1", ContainerEvent.CONTAINER_STARTED, Instant.now().plusSeconds(1));
        var req = request("c1", PID, "task-1");
        EnforcementResult applied = reconciler.started(again, () -> enforcer.enforce(req));
        assertThat(applied.status()).isEqualTo("applied");
        reconciler.published(EVENT_OUTCOMES.of(again, applied, false));
        published.clear();
        reconciler.resyncNow();
    }
}
