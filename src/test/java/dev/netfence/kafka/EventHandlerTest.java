package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.netfence.core.EnforcementResult;
import dev.netfence.event.ContainerEvent;
import dev.netfence.event.Outcome;
import dev.netfence.event.Outcomes;
import dev.netfence.policy.store.FakePolicies;
import dev.netfence.policy.store.InMemoryPolicyStore;
import dev.netfence.reconcile.ContainerLifecycle;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.Test;

class EventHandlerTest {
    private static final ContainerEvent START = new ContainerEvent(1, ContainerEvent.CONTAINER_STARTED, "ev-start",
            Instant.parse("2026-12-04T03:00:00Z"), "n1", "task-1", "c1", "docker", 4242);
    /** The containers the fail-closed handler was asked to quarantine. */
    private final List<String> quarantined = new CopyOnWriteArrayList<>();
    private final PolicyFailureHandler recordingFailClosed = (containerId, runtime, pid, netns, code, message) -> {
        quarantined.add(containerId);
        return EnforcementResult.failed(code, message);
    };

    /** A lifecycle whose start waits for the container's lock as the reconciler's does (interruptibly). */
    private static ContainerLifecycle lockingLifecycle(ReentrantLock lock) {
        return new ContainerLifecycle() {
            @Override
            public EnforcementResult started(ContainerEvent event, Enforcement enforcement) throws InterruptedException {
                lock.lockInterruptibly();
                try {
                    return enforcement.run();
                } finally {
                    lock.unlock();
                }
            }

            @Override
            public Optional<String> stopped(ContainerEvent event) {
                return Optional.empty();
            }
        };
    }

    private EventHandler handler(ContainerLifecycle lifecycle, java.util.function.BooleanSupplier stopped) {
        return new EventHandler(new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN), new RecordingEnforcer(),
                recordingFailClosed, new Outcomes(Clock.systemUTC(), "n1/1", "test"), Clock.systemUTC(),
                Duration.ofSeconds(1), Duration.ofSeconds(30), lifecycle, stopped);
    }

    @Test
    void aWorkerTheShutdownInterruptsWhileItWaitsForTheContainersLockAbandonsTheEventAndQuarantinesNothing() {
        ReentrantLock lock = new ReentrantLock();
        lock.lock(); // a long correction of the container holds it
        KeyedExecutor workers = new KeyedExecutor(1, "handler-test");
        EventHandler handler = handler(lockingLifecycle(lock), workers::shutDown);
        AtomicReference<CompletableFuture<Outcome>> stage = new AtomicReference<>();
        try {
            workers.submitAsync("c1", () -> {
                stage.set(handler.handle(START, false, workers.workers()));
                return stage.get();
            });
            await().until(lock::hasQueuedThreads);

            workers.shutdown(0); // the stop: what still runs is interrupted

            await().until(() -> stage.get() != null && stage.get().isDone());
        } finally {
            lock.unlock();
        }
        assertThatThrownBy(() -> stage.get().join()).hasCauseInstanceOf(AbandonedWork.class)
                .hasRootCauseInstanceOf(InterruptedException.class);
        assertThat(quarantined).as("a healthy container is not cut off by a stop").isEmpty();
    }

    @Test
    void aFailureAfterTheWorkersWereShutDownAbandonsTheEventInsteadOfFailingClosed() {
        EventHandler handler = handler(new ContainerLifecycle() {
            @Override
            public EnforcementResult started(ContainerEvent event, Enforcement enforcement) {
                throw new IllegalStateException("journal closed");
            }

            @Override
            public Optional<String> stopped(ContainerEvent event) {
                return Optional.empty();
            }
        }, () -> true);

        CompletableFuture<Outcome> stage = handler.handle(START, false, Runnable::run);

        assertThatThrownBy(stage::join).hasCauseInstanceOf(AbandonedWork.class);
        assertThat(quarantined).isEmpty();
    }

    @Test
    void anInterruptionWrappedByAKafkaClientCountsAsOneButAPlainFailureDoesNot() {
        assertThat(AbandonedWork.interruption(new org.apache.kafka.common.KafkaException("send failed",
                new org.apache.kafka.common.errors.InterruptException(new InterruptedException())))).isTrue();
        assertThat(AbandonedWork.interruption(new IllegalStateException("a bug"))).isFalse();
        assertThat(AbandonedWork.interruption(new IllegalStateException("lookup failed",
                new java.net.SocketTimeoutException("connect timed out")))).as("a timeout is no interruption").isFalse();
        assertThat(AbandonedWork.interruption(new java.io.InterruptedIOException("interrupted"))).isTrue();
    }

    @Test
    void anUnexpectedFailureWhileRunningStillFailsClosedWithAnInternalError() {
        EventHandler handler = handler(new ContainerLifecycle() {
            @Override
            public EnforcementResult started(ContainerEvent event, Enforcement enforcement) {
                throw new IllegalStateException("a bug");
            }

            @Override
            public Optional<String> stopped(ContainerEvent event) {
                return Optional.empty();
            }
        }, () -> false);

        Outcome o = handler.handle(START, false, Runnable::run).join();

        assertThat(o.status()).isEqualTo("failed");
        assertThat(o.error().code()).isEqualTo("INTERNAL_ERROR");
        assertThat(quarantined).containsExactly("c1");
    }

    private static final ContainerEvent STOP = new ContainerEvent(1, ContainerEvent.CONTAINER_STOPPED, "ev-stop",
            Instant.parse("2026-12-04T03:00:00Z"), "n1", "task-1", "c1", null, null);

    private static Outcome outcomeOfStop(Optional<String> kept) throws Exception {
        return outcomeOfStop(() -> kept);
    }

    private static Outcome outcomeOfStop(java.util.function.Supplier<Optional<String>> release) throws Exception {
        ContainerLifecycle lifecycle = new ContainerLifecycle() {
            @Override
            public EnforcementResult started(ContainerEvent event, Enforcement enforcement) {
                throw new AssertionError("not a start");
            }

            @Override
            public Optional<String> stopped(ContainerEvent event) {
                return release.get();
            }
        };
        EventHandler handler = new EventHandler(new InMemoryPolicyStore(), new RecordingEnforcer(),
                PolicyFailureHandler.REPORT_ONLY, new Outcomes(Clock.systemUTC(), "n1/1", "test"), Clock.systemUTC(),
                Duration.ofSeconds(1), Duration.ofSeconds(30), lifecycle);
        return handler.handle(STOP, false, Runnable::run).get();
    }

    @Test
    void aStopThatReleasedTheContainerIsReportedRemoved() throws Exception {
        Outcome o = outcomeOfStop(Optional.empty());

        assertThat(o.status()).isEqualTo("removed");
        assertThat(o.trigger()).isEqualTo("stop");
    }

    @Test
    void aStopWhoseReleaseFailedUnexpectedlyIsReportedFailedNotRemoved() throws Exception {
        Outcome o = outcomeOfStop(() -> {
            throw new IllegalStateException("host guard table gone");
        });

        assertThat(o.status()).isEqualTo("failed");
        assertThat(o.error().code()).isEqualTo("INTERNAL_ERROR");
        assertThat(o.error().message()).isEqualTo("releasing the container failed unexpectedly:"
                + " java.lang.IllegalStateException: host guard table gone");
        assertThat(o.quarantined()).as("a stopped container has nothing to quarantine").isFalse();
        assertThat(o.trigger()).isEqualTo("stop");
        assertThat(dev.netfence.event.DocumentSchema.load("outcome.v1.json").validate(
                new com.fasterxml.jackson.databind.ObjectMapper().readTree(new dev.netfence.event.OutcomeCodec().encode(o))))
                .as("an outcome v1 document").isEmpty();
    }

    @Test
    void aStopOfAnEarlierInstanceThatReleasedNothingIsReportedSkippedWithWhy() throws Exception {
        Outcome o = outcomeOfStop(Optional.of("this stop is of an earlier instance of container c1"));

        assertThat(o.status()).isEqualTo("skipped");
        assertThat(o.error().code()).isEqualTo("CONTAINER_NOT_FOUND");
        assertThat(o.error().message()).isEqualTo("this stop is of an earlier instance of container c1");
        assertThat(o.trigger()).isEqualTo("stop");
        assertThat(o.eventId()).isEqualTo("ev-stop");
        assertThat(dev.netfence.event.DocumentSchema.load("outcome.v1.json").validate(
                new com.fasterxml.jackson.databind.ObjectMapper().readTree(new dev.netfence.event.OutcomeCodec().encode(o))))
                .as("an outcome v1 document").isEmpty();
    }

    private static final ContainerEvent START_WITHOUT_PID = new ContainerEvent(1, ContainerEvent.CONTAINER_STARTED,
            "ev-nopid", Instant.parse("2026-12-04T03:00:00Z"), "n1", "task-1", "c1", "podman", null);

    /** An enforcer whose runtime answers {@code answer} (or throws it), recording what it was asked and when. */
    private static final class RuntimeAnswering implements dev.netfence.enforce.Enforcer {
        final List<Integer> enforcedThrough = new CopyOnWriteArrayList<>();
        final List<Boolean> askedUnderTheLock = new CopyOnWriteArrayList<>();
        private final ReentrantLock lock;
        private final java.util.function.Supplier<Integer> answer;

        RuntimeAnswering(ReentrantLock lock, java.util.function.Supplier<Integer> answer) {
            this.lock = lock;
            this.answer = answer;
        }

        @Override
        public EnforcementResult enforce(dev.netfence.enforce.EnforcementRequest request) {
            enforcedThrough.add(request.pid());
            return EnforcementResult.applied().attempts(1).build();
        }

        @Override
        public Integer runtimePid(String containerId, String runtime, Instant deadline) {
            askedUnderTheLock.add(lock.isLocked());
            return answer.get();
        }
    }

    private Outcome outcomeWithoutPid(RuntimeAnswering enforcer, ReentrantLock lock) {
        EventHandler handler = new EventHandler(new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN), enforcer,
                recordingFailClosed, new Outcomes(Clock.systemUTC(), "n1/1", "test"), Clock.systemUTC(),
                Duration.ofSeconds(1), Duration.ofSeconds(30), lockingLifecycle(lock), () -> false);
        return handler.handle(START_WITHOUT_PID, false, Runnable::run).join();
    }

    @Test
    void aStartWithoutAPidIsAskedOfTheRuntimeBeforeTheContainersLockIsTakenAndEnforcedThroughThatPid() {
        ReentrantLock lock = new ReentrantLock();
        RuntimeAnswering enforcer = new RuntimeAnswering(lock, () -> 777);

        Outcome o = outcomeWithoutPid(enforcer, lock);

        assertThat(o.status()).isEqualTo("applied");
        assertThat(enforcer.askedUnderTheLock).as("the runtime may wait on netfence's hook, which takes that lock")
                .containsExactly(false);
        assertThat(enforcer.enforcedThrough).containsExactly(777);
    }

    @Test
    void aStartWithAPidIsNotAskedOfTheRuntime() {
        ReentrantLock lock = new ReentrantLock();
        RuntimeAnswering enforcer = new RuntimeAnswering(lock, () -> 777);
        EventHandler handler = new EventHandler(new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN), enforcer,
                recordingFailClosed, new Outcomes(Clock.systemUTC(), "n1/1", "test"), Clock.systemUTC(),
                Duration.ofSeconds(1), Duration.ofSeconds(30), lockingLifecycle(lock), () -> false);

        handler.handle(START, false, Runnable::run).join();

        assertThat(enforcer.askedUnderTheLock).isEmpty();
        assertThat(enforcer.enforcedThrough).containsExactly(4242);
    }

    @Test
    void aRuntimeThatCannotSayThePidInTimeMakesTheStartFailedWithNothingApplied() {
        ReentrantLock lock = new ReentrantLock();
        RuntimeAnswering enforcer = new RuntimeAnswering(lock, () -> {
            throw new dev.netfence.core.EnforcementException(dev.netfence.core.ErrorCode.TIMEOUT, "still being made");
        });

        Outcome o = outcomeWithoutPid(enforcer, lock);

        assertThat(o.status()).as("the container may run: never skipped").isEqualTo("failed");
        assertThat(o.error().code()).isEqualTo("TIMEOUT");
        assertThat(o.error().message()).isEqualTo("still being made");
        assertThat(o.policyDigest()).isEqualTo(dev.netfence.policy.PolicyDigest.of(FakePolicies.OPEN));
        assertThat(enforcer.enforcedThrough).isEmpty();
        assertThat(quarantined).as("no process to quarantine through").isEmpty();
    }

    @Test
    void aContainerTheRuntimeSaysIsGoneIsSkipped() {
        ReentrantLock lock = new ReentrantLock();
        RuntimeAnswering enforcer = new RuntimeAnswering(lock, () -> {
            throw new dev.netfence.core.EnforcementException(dev.netfence.core.ErrorCode.CONTAINER_NOT_FOUND,
                    "container c1 has no running process (pid 0, status exited)");
        });

        Outcome o = outcomeWithoutPid(enforcer, lock);

        assertThat(o.status()).isEqualTo("skipped");
        assertThat(o.error().code()).isEqualTo("CONTAINER_NOT_FOUND");
        assertThat(enforcer.enforcedThrough).isEmpty();
    }

    @Test
    void aStaleStartWithoutAPidIsNotAskedOfTheRuntime() {
        // review 209: a replayed start the reconciler skips paid a runtime lookup first (up to the event's deadline)
        ReentrantLock lock = new ReentrantLock();
        RuntimeAnswering enforcer = new RuntimeAnswering(lock, () -> 777);
        ContainerLifecycle stale = new ContainerLifecycle() {
            @Override
            public EnforcementResult started(ContainerEvent event, Enforcement enforcement) {
                return EnforcementResult.skip(dev.netfence.core.ErrorCode.CONTAINER_NOT_FOUND, "stopped after it").build();
            }

            @Override
            public boolean staleStart(ContainerEvent event) {
                return true;
            }

            @Override
            public Optional<String> stopped(ContainerEvent event) {
                return Optional.empty();
            }
        };
        EventHandler handler = new EventHandler(new InMemoryPolicyStore().put("task-1", FakePolicies.OPEN), enforcer,
                recordingFailClosed, new Outcomes(Clock.systemUTC(), "n1/1", "test"), Clock.systemUTC(),
                Duration.ofSeconds(1), Duration.ofSeconds(30), stale, () -> false);

        Outcome o = handler.handle(START_WITHOUT_PID, true, Runnable::run).join();

        assertThat(o.status()).isEqualTo("skipped");
        assertThat(enforcer.askedUnderTheLock).as("the runtime not asked").isEmpty();
    }
}
