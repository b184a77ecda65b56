package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.core.EnforcementResult;
import dev.netfence.core.EnforcementTarget;
import dev.netfence.core.ErrorCode;
import dev.netfence.event.ContainerEvent;
import dev.netfence.policy.PolicyDigest;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A container whose start failed without a quarantine (on-failure leave, or a quarantine that
 * could not be written) but whose namespace was found is tracked as not in force: every resync
 * retries it and a policy update of its task reaches it. Before, nothing was recorded, so it ran
 * without rules for its whole life after one failed outcome. One that was never found is not
 * tracked (nothing to pin).
 */
class FailedStartsTest extends ReconcilerFixture {

    @Test
    void aStartThatFailedWithoutAQuarantineIsTrackedAndRetriedAtTheNextResync() throws Exception {
        policies.put("task-1", ALLOW_A);
        String digest = PolicyDigest.of(request("c1", PID, "task-1").policy());

        failedStart("c1", "task-1", EnforcementResult.failure(ErrorCode.RULES_REJECTED, "Error occurred at line: 4")
                .policyDigest(digest).target(new EnforcementTarget(PID, enforcer.device, enforcer.inode)).build());

        assertThat(reconciler.liveSet().get("c1")).hasValueSatisfying(c -> {
            assertThat(c.inForce()).isFalse();
            assertThat(c.quarantined()).isFalse();
            assertThat(c.taskId()).isEqualTo("task-1");
            assertThat(c.errorCode()).isEqualTo("RULES_REJECTED");
        });
        reconciler.resyncNow();

        assertThat(enforcer.calls).containsExactly("enforce c1");
        assertThat(reconciler.liveSet().get("c1")).hasValueSatisfying(c -> assertThat(c.inForce()).isTrue());
        assertThat(published).singleElement().satisfies(o -> assertThat(o.status()).isEqualTo("applied"));
    }

    @Test
    void aStartLeftWithoutItsPolicyGetsThePolicyAsSoonAsItIsStored() throws Exception {
        failedStart("c1", "task-1", EnforcementResult.failure(ErrorCode.POLICY_NOT_FOUND, "no policy for task-1")
                .target(new EnforcementTarget(PID, enforcer.device, enforcer.inode)).build());

        policies.put("task-1", ALLOW_A);

        await().atMost(Duration.ofSeconds(10)).until(() -> !published.isEmpty());
        assertThat(enforcer.calls).containsExactly("enforce c1");
        assertThat(published).singleElement().satisfies(o -> {
            assertThat(o.status()).isEqualTo("applied");
            assertThat(o.trigger()).isEqualTo("policy-update");
        });
    }

    @Test
    void aTransientFailureOfAStartThatWroteNothingIsAppliedAgainNotReadBackAsDrift() throws Exception {
        policies.put("task-1", ALLOW_A);
        String digest = PolicyDigest.of(request("c1", PID, "task-1").policy());
        failedStart("c1", "task-1", EnforcementResult.failure(ErrorCode.LOCK_CONTENDED, "xtables lock held")
                .policyDigest(digest).target(new EnforcementTarget(PID, enforcer.device, enforcer.inode)).build());

        reconciler.resyncNow();

        // a read-back (reconcile) would find its namespace "drifted" from rules never written, and quarantine it
        assertThat(enforcer.calls).containsExactly("enforce c1");
    }

    @Test
    void aHookFencedContainerWhoseStartFailedWithoutAQuarantineKeepsItsFenceAndLearnsItsTask() throws Exception {
        reconciler.fence("c1", PID, "podman");
        enforcer.calls.clear();

        failedStart("c1", "task-1", EnforcementResult.failure(ErrorCode.POLICY_NOT_FOUND, "no policy for task-1")
                .target(new EnforcementTarget(PID, enforcer.device, enforcer.inode)).build());

        assertThat(reconciler.liveSet().get("c1")).hasValueSatisfying(c -> {
            assertThat(c.quarantined()).as("the hook's fence is still written").isTrue();
            assertThat(c.taskId()).isEqualTo("task-1");
        });
        policies.put("task-1", ALLOW_A);
        await().atMost(Duration.ofSeconds(10)).until(() -> !published.isEmpty());
        assertThat(enforcer.calls).containsExactly("enforce c1");
    }

    @Test
    void aReplayedStartThatFailedWithoutAQuarantineLeavesThePolicyInForceRecordedAsInForce() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");

        failedStart("c1", "task-1", EnforcementResult.failure(ErrorCode.LOCK_CONTENDED, "xtables lock held")
                .target(new EnforcementTarget(PID, enforcer.device, enforcer.inode)).build());

        assertThat(reconciler.liveSet().get("c1")).hasValueSatisfying(c -> assertThat(c.inForce()).isTrue());
    }

    @Test
    void aStartThatFailedBeforeTheContainerWasFoundRecordsNothing() throws Exception {
        policies.put("task-1", ALLOW_A);

        failedStart("c1", "task-1", EnforcementResult.failure(ErrorCode.TIMEOUT, "deadline passed").build());

        assertThat(reconciler.liveSet().get("c1")).isEmpty();
    }

    private void failedStart(String id, String task, EnforcementResult result) throws InterruptedException {
        ContainerEvent ev = event(id, task, ContainerEvent.CONTAINER_STARTED);
        EnforcementResult r = reconciler.started(ev, () -> result);
        assertThat(r.status()).isEqualTo("failed");
        reconciler.published(EVENT_OUTCOMES.of(ev, r, false));
    }
}
