package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.event.Trigger;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The reconciler's correction queue on its own: one correction of a container at a time, and nobody left waiting. */
class CorrectionQueueTest {
    private final CountDownLatch release = new CountDownLatch(1);
    private final List<String> ran = new CopyOnWriteArrayList<>();
    private final CorrectionQueue queue = new CorrectionQueue(2, (id, trigger) -> {
        ran.add(id + " " + trigger.wire());
        if (id.equals("stuck")) {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    });

    @AfterEach
    void close() {
        release.countDown();
        queue.close();
    }

    @Test
    void aCorrectionOfAContainerWhoseCorrectionRunsWaitsForItInsteadOfAThreadAndTheLatestOfAKindRuns() {
        AtomicInteger skippedOrRan = new AtomicInteger();
        queue.submit("stuck", Trigger.DRIFT, 1, () -> { });
        await().atMost(Duration.ofSeconds(5)).until(() -> ran.contains("stuck drift"));
        for (int i = 0; i < 5; i++) { // five resyncs queue it again while it hangs
            queue.submit("stuck", Trigger.DRIFT, 1, skippedOrRan::incrementAndGet);
            await().atMost(Duration.ofSeconds(5)).until(() -> queue.queued() == 0);
        }
        queue.submit("other", Trigger.POLICY_UPDATE, 0, () -> { });
        await("the second thread is free").atMost(Duration.ofSeconds(5)).until(() -> ran.contains("other policy-update"));
        assertThat(skippedOrRan.get()).as("the four replaced copies were told they will not run").isEqualTo(4);

        release.countDown();
        await().atMost(Duration.ofSeconds(5)).until(() -> skippedOrRan.get() == 5);
        assertThat(ran).filteredOn("stuck drift"::equals).as("the hang, then the latest copy once").hasSize(2);
    }

    @Test
    void aCorrectionWhoseCallbackThrowsDoesNotParkItsContainerForGood() {
        queue.submit("c1", Trigger.DRIFT, 1, () -> {
            throw new IllegalStateException("a callback that fails");
        });
        // the callback's exception ends on the pool thread, as it would in production: not this test's failure
        await().dontCatchUncaughtExceptions().atMost(Duration.ofSeconds(5)).until(() -> ran.contains("c1 drift"));
        queue.submit("c1", Trigger.POLICY_UPDATE, 0, () -> { });
        await().dontCatchUncaughtExceptions().atMost(Duration.ofSeconds(5)).until(() -> ran.contains("c1 policy-update"));
    }

    @Test
    void closingTellsWhatWasStillQueuedThatItWillNotRun() throws Exception {
        CountDownLatch second = new CountDownLatch(1);
        AtomicInteger told = new AtomicInteger();
        CorrectionQueue one = new CorrectionQueue(1, (id, trigger) -> {
            try {
                second.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        one.submit("a", Trigger.DRIFT, 1, () -> { });
        one.submit("b", Trigger.DRIFT, 1, told::incrementAndGet);
        Thread closing = new Thread(one::close);
        closing.start();
        await().atMost(Duration.ofSeconds(5)).until(() -> told.get() == 1);
        second.countDown();
        closing.join(10_000);
        assertThat(closing.isAlive()).isFalse();
    }
}
