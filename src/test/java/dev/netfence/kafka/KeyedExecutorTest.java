package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class KeyedExecutorTest {
    @Test
    void tasksOfOneKeyRunInSubmissionOrderAndNeverOverlap() {
        try (KeyedExecutor ex = new KeyedExecutor(8, "t")) {
            Map<String, List<Integer>> seen = new ConcurrentHashMap<>();
            AtomicInteger overlaps = new AtomicInteger();
            Map<String, AtomicInteger> running = new ConcurrentHashMap<>();
            for (int i = 0; i < 400; i++) {
                String key = "k" + (i % 5);
                int n = i;
                ex.submit(key, () -> {
                    if (running.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet() > 1) {
                        overlaps.incrementAndGet();
                    }
                    seen.computeIfAbsent(key, k -> new CopyOnWriteArrayList<>()).add(n);
                    running.get(key).decrementAndGet();
                });
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> seen.values().stream().mapToInt(List::size).sum() == 400);
            assertThat(overlaps).hasValue(0);
            seen.forEach((k, l) -> assertThat(l).isSorted());
            await().atMost(Duration.ofSeconds(10)).until(() -> ex.activeKeys() == 0);
        }
    }

    @Test
    void aBlockedKeyDoesNotHoldUpOtherKeys() throws Exception {
        try (KeyedExecutor ex = new KeyedExecutor(2, "t")) {
            CountDownLatch gate = new CountDownLatch(1);
            CountDownLatch other = new CountDownLatch(1);
            ex.submit("slow", () -> {
                try {
                    gate.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            ex.submit("fast", other::countDown);
            assertThat(other.await(30, TimeUnit.SECONDS)).isTrue();
            gate.countDown();
        }
    }

    @Test
    void aFailingTaskDoesNotStopItsKeysChain() throws Exception {
        try (KeyedExecutor ex = new KeyedExecutor(1, "t")) {
            CountDownLatch after = new CountDownLatch(1);
            ex.submit("k", () -> {
                throw new IllegalStateException("boom");
            });
            ex.submit("k", after::countDown);
            assertThat(after.await(30, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    void aParkedTaskWokenAfterStopStartingIsRefusedAndNeverRuns() throws Exception {
        try (KeyedExecutor ex = new KeyedExecutor(2, "t")) {
            CompletableFuture<String> policy = new CompletableFuture<>();
            AtomicInteger enforced = new AtomicInteger();
            CompletableFuture<Integer> parked = policy.thenApplyAsync(p -> enforced.incrementAndGet(), ex.workers());
            ex.stopStarting();
            policy.complete("arrived");

            assertThat(parked).failsWithin(Duration.ofSeconds(30))
                    .withThrowableOfType(ExecutionException.class)
                    .withRootCauseInstanceOf(RejectedExecutionException.class);
            assertThat(enforced.get()).isZero();
        }
    }

    @Test
    void aTaskWhoseTurnComesAfterShutdownIsSkippedAndItsKeyStillSettles() {
        KeyedExecutor ex = new KeyedExecutor(1, "t");
        CompletableFuture<Void> parked = new CompletableFuture<>();
        AtomicInteger ran = new AtomicInteger();
        ex.submitAsync("k", () -> parked);
        ex.submitAsync("k", () -> {
            ran.incrementAndGet();
            return CompletableFuture.completedFuture(null);
        });
        await().atMost(Duration.ofSeconds(10)).until(() -> ex.running() == 0 && ex.activeKeys() == 1);

        ex.shutdown(1000);
        parked.complete(null); // the second task's turn comes: the pool is shut down and refuses it
        ex.submit("other", ran::incrementAndGet);

        await("no chain waits for a task the pool refused").atMost(Duration.ofSeconds(5))
                .until(() -> ex.activeKeys() == 0);
        assertThat(ran.get()).isZero();
        assertThat(ex.running()).isZero();
    }

    @Test
    void aParkedTaskWokenBeforeStopStartingRuns() throws Exception {
        try (KeyedExecutor ex = new KeyedExecutor(2, "t")) {
            CompletableFuture<Integer> parked = CompletableFuture.completedFuture("arrived")
                    .thenApplyAsync(p -> 1, ex.workers());
            assertThat(parked.get(30, TimeUnit.SECONDS)).isEqualTo(1);
        }
    }
}
