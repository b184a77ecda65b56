package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** GroupCommit: who writes which items, and that no item is ever left without a result. */
class GroupCommitTest {
    private final Object lock = new Object();

    @Test
    void aCallerAloneIsABatchOfOne() {
        List<List<String>> batches = new ArrayList<>();
        GroupCommit<String, String> commit = new GroupCommit<>(lock, batch -> {
            batches.add(batch.stream().map(GroupCommit.Entry::item).toList());
            batch.forEach(e -> e.complete(e.item().toUpperCase()));
        });
        assertThat(commit.submit("a")).isEqualTo("A");
        assertThat(commit.submit("b")).isEqualTo("B");
        assertThat(batches).containsExactly(List.of("a"), List.of("b"));
    }

    @Test
    void callersQueuedWhileABatchIsWrittenAreWrittenTogetherInQueueOrderByTheFirstOfThem() throws Exception {
        CountDownLatch firstWriting = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        List<List<String>> batches = new ArrayList<>();
        List<String> writers = new ArrayList<>();
        GroupCommit<String, String> commit = new GroupCommit<>(lock, batch -> {
            batches.add(batch.stream().map(GroupCommit.Entry::item).toList());
            writers.add(Thread.currentThread().getName());
            if (batch.get(0).item().equals("first")) {
                firstWriting.countDown();
                awaitLatch(release);
            }
            batch.forEach(e -> e.complete(e.item() + "!"));
        });
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            Future<String> first = pool.submit(() -> commit.submit("first"));
            firstWriting.await();
            List<Thread> queued = new java.util.concurrent.CopyOnWriteArrayList<>();
            Future<String> second = pool.submit(() -> {
                queued.add(Thread.currentThread());
                return commit.submit("second");
            });
            await().until(() -> queued.size() == 1 && queued.get(0).getState() == Thread.State.BLOCKED);
            Future<String> third = pool.submit(() -> {
                queued.add(Thread.currentThread());
                return commit.submit("third");
            });
            await().until(() -> queued.size() == 2 && queued.get(1).getState() == Thread.State.BLOCKED);
            release.countDown();

            assertThat(first.get()).isEqualTo("first!");
            assertThat(second.get()).isEqualTo("second!");
            assertThat(third.get()).isEqualTo("third!");
            assertThat(batches).containsExactly(List.of("first"), List.of("second", "third"));
            assertThat(writers).hasSize(2);
        } finally {
            release.countDown();
            pool.shutdownNow();
        }
    }

    @Test
    void anItemTheWriterLeavesUnwrittenFailsAndAWriterFailureReachesEveryItemNotYetDone() {
        GroupCommit<String, String> forgetful = new GroupCommit<>(lock, batch -> { });
        assertThatThrownBy(() -> forgetful.submit("a")).isInstanceOf(IllegalStateException.class)
                .hasMessage("batch writer left an item unwritten");

        GroupCommit<String, String> failing = new GroupCommit<>(lock, batch -> {
            throw new IllegalArgumentException("bad batch");
        });
        assertThatThrownBy(() -> failing.submit("a")).isInstanceOf(IllegalArgumentException.class).hasMessage("bad batch");
    }

    private static void awaitLatch(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
