package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.core.EnforcementResult;
import dev.netfence.core.ErrorCode;
import dev.netfence.event.ContainerEvent;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The OCI hook's call while something else holds the container's lock (reviews 204 and 209): the
 * fence is written within {@link HookFences#LOCK_WAIT} without the lock and done again under it
 * once free (recorded; or, where the policy is in force by then, a drift check queued, the fence
 * having perhaps landed over it), nothing of that once the reconciler is closed or stands by; and a
 * start whose runtime gave no pid in time teaches a fence recorded before it its task.
 */
class ReconcilerHookLockWaitTest extends ReconcilerFixture {

    /** c1's start under way, holding c1's lock until {@link #release}. */
    private record Held(CompletableFuture<EnforcementResult> start, CountDownLatch go) {
        EnforcementResult release() throws Exception {
            go.countDown();
            return start.get(10, TimeUnit.SECONDS);
        }
    }

    /** Starts c1 with task-1's policy stored: {@code write} runs as its apply, which then holds the lock. */
    private Held holding(ContainerLifecycle.Enforcement write) throws InterruptedException {
        policies.put("task-1", ALLOW_A);
        CountDownLatch holding = new CountDownLatch(1);
        CountDownLatch go = new CountDownLatch(1);
        ContainerEvent ev = event("c1", "task-1", ContainerEvent.CONTAINER_STARTED);
        CompletableFuture<EnforcementResult> start = CompletableFuture.supplyAsync(() -> {
            try {
                return reconciler.started(ev, () -> {
                    EnforcementResult r = write.run();
                    holding.countDown();
                    go.await();
                    return r;
                });
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        holding.await();
        return new Held(start, go);
    }

    private static EnforcementResult noPidInTime() {
        return EnforcementResult.failure(ErrorCode.TIMEOUT, "no pid in time").attempts(1).build();
    }

    /** The hook's call, failing the test where it waits past the lock wait and a margin. */
    private EnforcementResult hookCall() throws Exception {
        return CompletableFuture.supplyAsync(() -> reconciler.fence("c1", PID, null))
                .get(HookFences.LOCK_WAIT.toSeconds() + 5, TimeUnit.SECONDS);
    }

    @Test
    void aHookCallWhoseContainersLockStaysHeldIsFencedWithinTheWaitAndRecordedOnceTheLockIsFree() throws Exception {
        // before, the fence waited for the lock without end while what held it could be waiting on the runtime, which
        // holds the container until its hook answers (review 204)
        Held held = holding(ReconcilerHookLockWaitTest::noPidInTime);
        EnforcementResult answer;
        try {
            answer = hookCall();

            assertThat(held.start()).as("while the lock is still held").isNotDone();
            assertThat(enforcer.calls).containsExactly("fence c1");
            assertThat(reconciler.liveSet().get("c1")).as("nothing recorded without the lock").isEmpty();
        } finally {
            assertThat(held.release().status()).isEqualTo("failed");
        }
        assertThat(answer.quarantined()).as("fenced in time for the hook").isTrue();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(reconciler.liveSet().get("c1"))
                .as("fenced again and recorded under the lock").hasValueSatisfying(c -> {
                    assertThat(c.quarantined()).isTrue();
                    assertThat(c.pid()).isEqualTo(PID);
                }));
        assertThat(enforcer.calls).startsWith("fence c1", "fence c1");
    }

    @Test
    void aFenceWrittenWithoutTheLockOverThePolicyItsHolderAppliedIsRepairedByADriftCheck() throws Exception {
        // review 209: the lock holder wrote the policy, the unlocked fence landed over it, and nothing undid it before a
        // resync while the entry (and the outcome) said the policy was in force
        policies.put("task-1", ALLOW_A);
        var request = request("c1", PID, "task-1");
        Held held = holding(() -> enforcer.enforce(request)); // the policy written, the lock still held

        EnforcementResult answer = hookCall(); // the same pid and namespace: past the lock wait

        assertThat(held.release().status()).isEqualTo("applied");
        assertThat(answer.quarantined()).isTrue();
        await("the rules read back and the policy written again").atMost(Duration.ofSeconds(10))
                .until(() -> enforcer.calls.size() >= 3);
        assertThat(enforcer.calls).containsExactly("enforce c1", "fence c1", "reconcile c1");
    }

    @Test
    void noFenceIsDoneAgainUnderTheLockOnceTheReconcilerIsClosed() throws Exception {
        Held held = holding(ReconcilerHookLockWaitTest::noPidInTime);
        hookCall();
        reconciler.close();
        int writes = journalWrites.get();
        List<String> calls = List.copyOf(enforcer.calls);

        held.release();

        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(() -> enforcer.calls.equals(calls));
        assertThat(journalWrites.get()).as("no entry journaled after the close").isEqualTo(writes);
    }

    @Test
    void noFenceIsDoneAgainUnderTheLockWhileStandingBy() throws Exception {
        Held held = holding(ReconcilerHookLockWaitTest::noPidInTime);
        hookCall();
        reconciler.standingBy(true); // another instance of the node enforces it now

        held.release();

        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2))
                .until(() -> enforcer.calls.equals(List.of("fence c1")));
        assertThat(reconciler.liveSet().get("c1")).as("no fence recorded by a standing-by instance").isEmpty();
    }

    @Test
    void aFenceRecordedBeforeAStartWhoseRuntimeGaveNoPidInTimeLearnsItsTaskAndGetsItsPolicy() throws Exception {
        // review 209: the start's lookup failed TIMEOUT with no process found, and the hook's fence stayed without its task
        policies.put("task-1", ALLOW_A);
        assertThat(reconciler.fence("c1", PID, null).quarantined()).isTrue();
        ContainerEvent ev = new ContainerEvent(1, ContainerEvent.CONTAINER_STARTED, "ev-c1", Instant.now(), "node-1",
                "task-1", "c1", "podman", null);

        EnforcementResult result = reconciler.started(ev, ReconcilerHookLockWaitTest::noPidInTime);

        assertThat(result.status()).isEqualTo("failed");
        assertThat(reconciler.liveSet().get("c1")).hasValueSatisfying(c -> assertThat(c.taskId()).isEqualTo("task-1"));
        await("its policy applied by the correction queued").atMost(Duration.ofSeconds(10))
                .until(() -> enforcer.calls.contains("enforce c1"));
    }
}
