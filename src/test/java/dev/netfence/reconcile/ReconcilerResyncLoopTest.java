package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * That the reconciler's resyncs go on, each test with a reconciler of its own resyncing every
 * 100 ms over the fixture's live set (a fake enforcer and policy store): after a pass that threw
 * an error, while a container's check hangs (counted overdue, and reported on readiness until a
 * pass is in time again), and under a storm of policy updates that would otherwise keep the
 * checks queued behind them for good.
 */
class ReconcilerResyncLoopTest extends ReconcilerFixture {
    @Test
    void aResyncThatThrowsAnErrorIsLoggedAndTheNextResyncStillRuns() {
        java.util.concurrent.atomic.AtomicInteger sweeps = new java.util.concurrent.atomic.AtomicInteger();
        HostGuards failingOnce = new HostGuards() {
            @Override
            public void release(String containerId) {
            }

            @Override
            public void sweep() {
                if (sweeps.incrementAndGet() == 1) {
                    throw new LinkageError("a native call's class failed to link"); // an Error, not an exception
                }
            }
        };
        try (Reconciler often = new Reconciler(reconciler.liveSet(), enforcer, policies, EVENT_OUTCOMES,
                published::add, failingOnce, java.time.Clock.systemUTC(), java.time.Clock.systemUTC(),
                new io.micrometer.core.instrument.simple.SimpleMeterRegistry(), "node-1", Duration.ofMillis(100), 1, Duration.ofSeconds(30), proc)) {
            often.start();

            await().atMost(Duration.ofSeconds(10)).until(() -> often.cycles() >= 2);
            assertThat(sweeps.get()).as("resyncs go on after the one that threw").isGreaterThanOrEqualTo(3);
        }
    }

    @Test
    void aResyncWhoseCheckHangsIsCountedOverdueAndTheResyncsAndPolicyUpdatesGoOn() throws Exception {
        // before, the cycle waited for every check without end: one hanging read-back ended resyncs for good;
        // and every overdue cycle queued the hanging container again, each copy holding a thread on its lock
        twoLiveContainersC1sChecksHanging();
        java.util.concurrent.atomic.AtomicInteger sweeps = new java.util.concurrent.atomic.AtomicInteger();
        var meters = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        try (Reconciler often = oftenWith(2, meters, sweeps)) {
            often.start();
            await().atMost(Duration.ofSeconds(10)).until(() -> meters.counter("netfence.resync.overdue").count() >= 4);
            assertThat(sweeps.get()).as("resyncs go on while the check hangs").isGreaterThanOrEqualTo(4);
            assertThat(often.notReadyReason()).as("/readyz while resyncs fall behind").hasValueSatisfying(r -> assertThat(r)
                    .startsWith("resync overdue: 1 of 2 live containers were not checked within 0.2 s"));
            enforcer.calls.clear();
            policies.put("task-2", ALLOW_A.replace("198.18.0.2:80", "198.18.0.3:80"));
            await().atMost(Duration.ofSeconds(5)).until(() -> enforcer.calls.contains("enforce c2"));
            long before = often.cycles();
            enforcer.hold.countDown();
            await().atMost(Duration.ofSeconds(10)).until(() -> often.cycles() > before);
            assertThat(often.notReadyReason()).as("ready again after a pass in time").isEmpty();
        } finally {
            enforcer.hold.countDown();
        }
    }

    @Test
    void aPassWhoseLastCheckEndsDuringTheSweepIsStillOverdueForReadiness() throws Exception {
        // before, the pass read what its checks left after the host-guard sweep: a check that ended
        // meanwhile made an overdue pass look in time, and /readyz stayed 200 while every pass was late
        twoLiveContainersC1sChecksHanging();
        HostGuards releasingDuringSweep = new HostGuards() {
            @Override
            public void release(String containerId) {
            }

            @Override
            public void sweep() { // c1's check, late for the pass, ends during the sweep; the next pass's hangs again
                java.util.concurrent.CountDownLatch late = enforcer.hold;
                enforcer.hold = new java.util.concurrent.CountDownLatch(1);
                late.countDown();
                sleepMillis(150);
            }
        };
        var meters = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        try (Reconciler often = new Reconciler(reconciler.liveSet(), enforcer, policies, EVENT_OUTCOMES, published::add,
                releasingDuringSweep, java.time.Clock.systemUTC(), java.time.Clock.systemUTC(), meters, "node-1",
                Duration.ofMillis(100), 2, Duration.ofSeconds(30), proc)) {
            often.start();
            await().atMost(Duration.ofSeconds(10)).until(() -> meters.counter("netfence.resync.overdue").count() >= 3);
            assertThat(often.notReadyReason()).as("/readyz after overdue passes").hasValueSatisfying(r -> assertThat(r)
                    .startsWith("resync overdue: 1 of 2 live containers were not checked within 0.2 s"));
        } finally {
            enforcer.hold.countDown();
        }
    }

    @Test
    void aStormOfPolicyUpdatesDoesNotHoldTheResyncsChecksOffForGood() throws Exception {
        // one correction thread; each policy update takes 20 ms and the next is stored every 2 ms, so
        // an update is always queued: before, the resync's checks (queued behind every update) never ran
        twoLiveContainers();
        enforcer.applyMillis = 20;
        enforcer.calls.clear();
        var meters = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        java.util.concurrent.atomic.AtomicBoolean storming = new java.util.concurrent.atomic.AtomicBoolean(true);
        Thread storm = new Thread(() -> {
            for (int i = 0; storming.get(); i++) {
                policies.put("task-1", ALLOW_A.replace("198.18.0.2:80", "198.18.0.2:" + (1000 + i % 60000))); // new each time
                sleepMillis(2);
            }
        });
        // c1's check (the resync's first) hangs 300 ms: meanwhile the storm's first update is queued ahead of c2's check
        enforcer.hold = new java.util.concurrent.CountDownLatch(1);
        enforcer.holdId = "c1";
        java.util.concurrent.CompletableFuture.delayedExecutor(300, java.util.concurrent.TimeUnit.MILLISECONDS)
                .execute(enforcer.hold::countDown);
        try (Reconciler often = oftenWith(1, meters, new java.util.concurrent.atomic.AtomicInteger())) {
            often.start();
            await().atMost(Duration.ofSeconds(5)).until(() -> enforcer.calls.contains("reconcile c1"));
            storm.start();
            await().atMost(Duration.ofSeconds(15)).until(() -> enforcer.calls.contains("reconcile c2"));
            assertThat(meters.counter("netfence.resync.overdue").count()).as("found overdue first").isPositive();
        } finally {
            storming.set(false);
            enforcer.hold.countDown();
            storm.join();
        }
    }

    /** Two live containers, this class's reconciler closed (only the test's own corrects), and c1's checks hanging. */
    private void twoLiveContainersC1sChecksHanging() throws InterruptedException {
        twoLiveContainers();
        reconciler.close();
        enforcer.hold = new java.util.concurrent.CountDownLatch(1);
        enforcer.holdId = "c1";
    }

    /** c1 of task-1 and c2 of task-2, both applied. */
    private void twoLiveContainers() throws InterruptedException {
        policies.put("task-1", ALLOW_A);
        policies.put("task-2", ALLOW_A);
        start("c1", "task-1");
        start("c2", "task-2");
    }

    private static void sleepMillis(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A reconciler over this test's live set and store resyncing every 100 ms with {@code threads} threads. */
    private Reconciler oftenWith(int threads, io.micrometer.core.instrument.MeterRegistry meters,
            java.util.concurrent.atomic.AtomicInteger sweeps) {
        HostGuards counting = new HostGuards() {
            @Override
            public void release(String containerId) {
            }

            @Override
            public void sweep() {
                sweeps.incrementAndGet();
            }
        };
        return new Reconciler(reconciler.liveSet(), enforcer, policies, EVENT_OUTCOMES, published::add, counting,
                java.time.Clock.systemUTC(), java.time.Clock.systemUTC(), meters, "node-1", Duration.ofMillis(100), threads,
                Duration.ofSeconds(30), proc);
    }
}
