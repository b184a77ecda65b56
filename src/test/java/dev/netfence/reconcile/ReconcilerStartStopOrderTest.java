package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.core.EnforcementResult;
import dev.netfence.event.ContainerEvent;
import dev.netfence.netns.NamespaceId;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Which instance of a container the reconciler enforces when its stop and start events come in
 * either order, for the same id again, with or without a pid, or replayed from an earlier window
 * (a fake enforcer and policy store): a start processed after its stop applies nothing, a restart
 * after it is enforced, and a stop of an earlier instance leaves the running one enforced.
 */
class ReconcilerStartStopOrderTest extends ReconcilerFixture {
    @Test
    void aStopReleasesTheContainerAndAStartProcessedAfterItsStopAppliesNothing() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");

        reconciler.stopped(event("c1", "task-1", ContainerEvent.CONTAINER_STOPPED));
        assertThat(reconciler.liveSet().size()).isZero();
        assertThat(released).containsExactly("c1");

        Instant stop = Instant.parse("2026-12-01T10:00:00Z");
        reconciler.stopped(event("c2", "task-1", ContainerEvent.CONTAINER_STOPPED, stop));
        enforcer.calls.clear();
        // the start occurred before the stop (reordered or replayed), and is processed after it
        EnforcementResult late = reconciler.started(event("c2", "task-1", ContainerEvent.CONTAINER_STARTED,
                        stop.minusSeconds(1)),
                () -> {
                    throw new AssertionError("must not enforce a stopped container");
                });
        assertThat(late.status()).isEqualTo("skipped");
        assertThat(late.error().code()).isEqualTo("CONTAINER_NOT_FOUND");
        assertThat(reconciler.liveSet().get("c2")).isEmpty();
        assertThat(enforcer.calls).isEmpty();
    }

    @Test
    void aStartTheReconcilerWouldSkipIsToldStaleBeforeTheLockSoThatNoRuntimeIsAskedForIt() throws Exception {
        // review 209: a start without a pid asks the runtime before the lock; a replayed one covered by a stop must not
        policies.put("task-1", ALLOW_A);
        Instant stop = Instant.parse("2026-12-01T10:00:00Z");
        reconciler.stopped(event("c5", "task-1", ContainerEvent.CONTAINER_STOPPED, stop));

        assertThat(reconciler.staleStart(event("c5", "task-1", ContainerEvent.CONTAINER_STARTED, stop.minusSeconds(1))))
                .as("occurred before its stop").isTrue();
        assertThat(reconciler.staleStart(event("c5", "task-1", ContainerEvent.CONTAINER_STARTED, stop.plusSeconds(1))))
                .as("the same id started again after its stop").isFalse();
        start("c6", "task-1");
        assertThat(reconciler.staleStart(new ContainerEvent(1, ContainerEvent.CONTAINER_STARTED, "ev-old",
                Instant.now().minusSeconds(3600), "node-1", "task-1", "c6", null, null)))
                .as("without a pid, earlier than the instance running").isTrue();
        assertThat(reconciler.staleStart(event("c7", "task-1", ContainerEvent.CONTAINER_STARTED))).isFalse();
    }

    @Test
    void aStepOfTheWallClockBeyondTheStopsHourDoesNotMakeALateStartOfTheStoppedContainerEnforceable() throws Exception {
        policies.put("task-1", ALLOW_A);
        Instant stop = Instant.parse("2026-12-01T10:00:00Z");
        reconciler.stopped(event("c4", "task-1", ContainerEvent.CONTAINER_STOPPED, stop));
        wall.stepOnEveryRead(java.time.Duration.ofHours(2)); // the stop is remembered for an hour of steady time

        EnforcementResult late = reconciler.started(event("c4", "task-1", ContainerEvent.CONTAINER_STARTED,
                stop.minusSeconds(1)), () -> {
                    throw new AssertionError("must not enforce a stopped container");
                });

        assertThat(late.status()).isEqualTo("skipped");
        assertThat(late.error().code()).isEqualTo("CONTAINER_NOT_FOUND");
    }

    @Test
    void aStartThatOccurredAfterTheStopOfTheSameIdIsEnforcedNotRefused() throws Exception {
        // podman stop then podman start: the same container id starts again after its stop event;
        // refusing it for the stop's memory window would leave the restarted workload unfenced
        policies.put("task-1", ALLOW_A);
        Instant stop = Instant.parse("2026-12-01T10:00:00Z");
        reconciler.stopped(event("c3", "task-1", ContainerEvent.CONTAINER_STOPPED, stop));
        enforcer.calls.clear();
        ContainerEvent restart = event("c3", "task-1", ContainerEvent.CONTAINER_STARTED, stop.plusSeconds(1));
        var req = request("c3", PID, "task-1");
        EnforcementResult again = reconciler.started(restart, () -> enforcer.enforce(req));
        assertThat(again.status()).isEqualTo("applied");
        assertThat(enforcer.calls).containsExactly("enforce c3");
        reconciler.published(EVENT_OUTCOMES.of(restart, again, false));
        EnforcementResult sameInstant = reconciler.started(event("c3", "task-1", ContainerEvent.CONTAINER_STARTED,
                stop), () -> {
                    throw new AssertionError("a start no later than the stop must not be enforced");
                });
        assertThat(sameInstant.status()).isEqualTo("skipped");
    }

    @Test
    void aRestartWithANewPidInTheSameSecondAsItsStopIsEnforcedNotTakenForALateStart() throws Exception {
        // podman restart: stop and start stamped to the second (the contract allows it), the start a new pid
        policies.put("task-1", ALLOW_A);
        start("c4", "task-1");
        Instant second = Instant.parse("2026-12-04T10:00:00Z");
        reconciler.stopped(event("c4", "task-1", ContainerEvent.CONTAINER_STOPPED, second));
        int restartedPid = restartedIn(PID + 1);
        enforcer.calls.clear();
        ContainerEvent restart = new ContainerEvent(1, ContainerEvent.CONTAINER_STARTED, "ev-c4-again", second,
                "node-1", "task-1", "c4", null, restartedPid);
        var req = request("c4", restartedPid, "task-1");

        EnforcementResult again = reconciler.started(restart, () -> enforcer.enforce(req));

        assertThat(again.status()).isEqualTo("applied");
        assertThat(enforcer.calls).containsExactly("enforce c4");
        assertThat(reconciler.liveSet().get("c4")).hasValueSatisfying(c -> assertThat(c.pid()).isEqualTo(restartedPid));
    }

    @Test
    void aContainerReleasedAtAResyncIsEnforcedAgainWhenTheSameIdStartsAgain() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        Files.delete(nsFile); // its pid left the namespace: gone, or restarted (podman restart keeps the id)
        reconciler.resyncNow();
        assertThat(reconciler.liveSet().get("c1")).isEmpty();

        Files.writeString(nsFile, "");
        NamespaceId restarted = NamespaceId.of(nsFile);
        enforcer.device = restarted.device();
        enforcer.inode = restarted.inode();
        enforcer.calls.clear();
        start("c1", "task-1"); // asserts applied: a release at a resync is not a stop
        assertThat(enforcer.calls).containsExactly("enforce c1");
        assertThat(reconciler.liveSet().get("c1")).isPresent();
    }

    @Test
    void theStopOfTheEarlierInstanceProcessedAfterTheHookFencedARestartLeavesTheRestartEnforced() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        int restartedPid = restartedIn(PID + 1);
        reconciler.fence("c1", restartedPid, null);
        await().atMost(Duration.ofSeconds(10)).until(() -> !published.isEmpty());

        reconciler.stopped(event("c1", "task-1", ContainerEvent.CONTAINER_STOPPED)); // the earlier pid's stop

        assertThat(reconciler.liveSet().get("c1")).hasValueSatisfying(c -> assertThat(c.pid()).isEqualTo(restartedPid));
        assertThat(released).isEmpty();
    }

    @Test
    void aStopWithoutPidThatOccurredBeforeTheRunningInstanceStartedReleasesNothingAndOneAfterItReleases()
            throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1"); // its start occurred now
        Instant started = reconciler.liveSet().get("c1").orElseThrow().startedAt();
        assertThat(started).isNotNull();

        // a replay of an earlier window, or a late stop: it is of an earlier instance under the same id
        assertThat(reconciler.stopped(pidlessStop("c1", "task-1", started.minusSeconds(600))))
                .hasValueSatisfying(why -> assertThat(why).contains("earlier instance of container c1", "stays enforced"));
        assertThat(reconciler.stopped(pidlessStop("c1", "task-1", started))).isPresent();
        assertThat(reconciler.liveSet().get("c1")).isPresent();
        assertThat(released).isEmpty();

        assertThat(reconciler.stopped(pidlessStop("c1", "task-1", started.plusMillis(1)))).isEmpty();
        assertThat(reconciler.liveSet().get("c1")).isEmpty();
        assertThat(released).containsExactly("c1");
    }

    @Test
    void aReplayedStartWithoutPidOfAnEarlierInstanceAppliesNothingSoItsStopLeavesTheRunningInstanceEnforced()
            throws Exception {
        // podman start brought c1 back as the running instance; a replay of an earlier window brings the
        // first instance's start and stop, both without pid: applied, the old start put its start time on
        // the running instance's entry, and the old stop then released the running instance
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        Instant started = reconciler.liveSet().get("c1").orElseThrow().startedAt();
        enforcer.calls.clear();
        ContainerEvent replayed = new ContainerEvent(1, ContainerEvent.CONTAINER_STARTED, "ev-c1-first",
                started.minusSeconds(600), "node-1", "task-1", "c1", null, null);

        EnforcementResult r = reconciler.started(replayed, () -> {
            throw new AssertionError("a start of an earlier instance must not be enforced on the running one");
        });

        assertThat(r.status()).isEqualTo("skipped");
        assertThat(r.error().message()).contains("runs as a later instance (pid " + PID);
        assertThat(reconciler.liveSet().get("c1").orElseThrow().startedAt()).isEqualTo(started);
        assertThat(reconciler.stopped(pidlessStop("c1", "task-1", started.minusSeconds(300)))).isPresent();
        assertThat(reconciler.liveSet().get("c1")).isPresent();
        assertThat(released).isEmpty();
    }

    @Test
    void aStartOfANewInstanceIsEnforcedThoughAnEntryOfADeadInstanceRecordsALaterStart() throws Exception {
        // the first instance's start was stamped ahead (an emitter's clock), the instance exited and no stop
        // came; the next instance's start, stamped right, is earlier than that entry's start: not skipped
        // for "a later instance" that no longer runs, which the next resync would release, leaving it open
        policies.put("task-1", ALLOW_A);
        reconciler.started(new ContainerEvent(1, ContainerEvent.CONTAINER_STARTED, "ev-c1-ahead",
                Instant.now().plusSeconds(60), "node-1", "task-1", "c1", null, PID),
                () -> enforcer.enforce(request("c1", PID, "task-1")));
        Files.delete(nsFile);
        Files.delete(nsFile.getParent());
        Files.delete(proc.resolve(Integer.toString(PID)));
        int next = restartedIn(PID + 7);
        enforcer.calls.clear();
        ContainerEvent start = new ContainerEvent(1, ContainerEvent.CONTAINER_STARTED, "ev-c1-next", Instant.now(),
                "node-1", "task-1", "c1", null, next);

        EnforcementResult r = reconciler.started(start, () -> enforcer.enforce(request("c1", next, "task-1")));

        assertThat(r.status()).as("%s", r).isEqualTo("applied");
        assertThat(enforcer.calls).containsExactly("enforce c1");
        assertThat(reconciler.liveSet().get("c1")).hasValueSatisfying(c -> assertThat(c.pid()).isEqualTo(next));
    }

    @Test
    void aReplayedStartWithoutPidOlderThanTheProcessTheHookFencedDoesNotGiveItAStartItsOldStopWouldRelease()
            throws Exception {
        // the runtime restarted c1 (the hook fenced the new process; no start event of its own came); a
        // replay brings the first instance's start and stop, without pid: the start is applied to the
        // running process, whose start time must stay its own, so the old stop releases nothing
        Instant boot = Instant.parse("2026-12-05T00:00:00Z");
        Files.writeString(proc.resolve("stat"), "cpu  1 2 3 4\nbtime " + boot.getEpochSecond() + "\n");
        Files.writeString(proc.resolve(PID + "/stat"), PID + " (sleep) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 "
                + 360_000 + " 0 0\n"); // 3,600 s after boot
        Instant processStart = boot.plusSeconds(3601).plusMillis(10); // rounded up: btime's second, one tick
        policies.put("task-1", ALLOW_A);
        assertThat(reconciler.fence("c1", PID, null).quarantined()).isTrue();
        ContainerEvent replayed = new ContainerEvent(1, ContainerEvent.CONTAINER_STARTED, "ev-c1-first",
                processStart.minusSeconds(600), "node-1", "task-1", "c1", null, null);
        var req = request("c1", PID, "task-1");

        assertThat(reconciler.started(replayed, () -> enforcer.enforce(req)).status()).isEqualTo("applied");

        assertThat(reconciler.liveSet().get("c1").orElseThrow().startedAt()).isEqualTo(processStart);
        assertThat(reconciler.stopped(pidlessStop("c1", "task-1", processStart.minusSeconds(300)))).isPresent();
        assertThat(reconciler.liveSet().get("c1")).isPresent();
        assertThat(released).isEmpty();
    }

    @Test
    void aLateStartOfTheRunningInstanceItselfIsEnforcedButDoesNotMoveItsStartBack() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        Instant started = reconciler.liveSet().get("c1").orElseThrow().startedAt();
        ContainerEvent again = event("c1", "task-1", ContainerEvent.CONTAINER_STARTED, started.minusSeconds(600));
        var req = request("c1", PID, "task-1");

        assertThat(reconciler.started(again, () -> enforcer.enforce(req)).status()).isEqualTo("applied");

        assertThat(reconciler.liveSet().get("c1").orElseThrow().startedAt()).isEqualTo(started);
        assertThat(reconciler.stopped(pidlessStop("c1", "task-1", started.minusSeconds(300)))).isPresent();
        assertThat(released).isEmpty();
    }

    @Test
    void aStopWithoutPidOfTheInstanceBeforeARestartTheHookFencedLeavesTheRestartEnforced() throws Exception {
        policies.put("task-1", ALLOW_A);
        Instant before = Instant.now().minusMillis(1);
        start("c1", "task-1");
        int restartedPid = restartedIn(PID + 1);
        reconciler.fence("c1", restartedPid, null); // restarted by the runtime: no start event
        await().atMost(Duration.ofSeconds(10)).until(() -> !published.isEmpty());

        reconciler.stopped(pidlessStop("c1", "task-1", before));
        // the emitter's clock ahead of netfence's: its stop of the earlier instance seems to follow the fence
        reconciler.stopped(pidlessStop("c1", "task-1", Instant.now().plusSeconds(5)));

        assertThat(reconciler.liveSet().get("c1")).hasValueSatisfying(c -> assertThat(c.pid()).isEqualTo(restartedPid));
        assertThat(released).isEmpty();
    }

    @Test
    void aStopWithoutPidOfAnEntryWhoseStartNoEventToldIsKeptWhileItsPidIsThereAndReleasedByTheResyncOnceGone()
            throws Exception {
        reconciler.liveSet().restore(new LiveContainer("c9", "task-1", "node-1", null, PID, NamespaceId.of(nsFile), null,
                null, null, false, "nft", Map.of(), Instant.now())); // an entry of an older version, or a hook fence

        assertThat(reconciler.stopped(pidlessStop("c9", "task-1", Instant.now().plusSeconds(3600))))
                .hasValueSatisfying(why -> assertThat(why).contains("until a resync finds it gone"));
        assertThat(reconciler.liveSet().get("c9")).isPresent();
        assertThat(released).isEmpty();

        Files.delete(nsFile); // the process is gone
        reconciler.resyncNow();
        assertThat(reconciler.liveSet().get("c9")).isEmpty();
        assertThat(released).containsExactly("c9");
    }
}
