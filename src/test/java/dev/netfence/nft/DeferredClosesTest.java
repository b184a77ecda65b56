package dev.netfence.nft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class DeferredClosesTest {
    private static Set<Thread> closerThreads() {
        Set<Thread> threads = ConcurrentHashMap.newKeySet();
        Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("netfence-nft-close-"))
                .forEach(threads::add);
        return threads;
    }

    /** Hands over one batch of {@code close}. */
    private static void handOver(DeferredCloses closes, Runnable close) {
        try (DeferredCloses.Batch batch = closes.batch()) {
            batch.close(close);
        }
    }

    /** Occupies every one of {@code threads} closers (each waits for {@code release}), then fills the queue likewise. */
    private static void occupy(DeferredCloses closes, int threads, CountDownLatch release) throws InterruptedException {
        CountDownLatch started = new CountDownLatch(threads);
        for (int i = 0; i < threads; i++) {
            handOver(closes, () -> {
                started.countDown();
                awaitQuietly(release);
            });
        }
        assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
        for (int i = 0; i < 16 * threads; i++) {
            handOver(closes, () -> awaitQuietly(release));
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void aBatchRunsItsClosesInOrderOnOneCloserThreadAfterItIsHandedOver() throws Exception {
        try (DeferredCloses closes = new DeferredCloses(2)) {
            List<String> ran = new CopyOnWriteArrayList<>();
            CountDownLatch done = new CountDownLatch(3);
            DeferredCloses.Batch batch = closes.batch();
            for (String name : List.of("generation", "context", "census")) {
                batch.close(() -> {
                    ran.add(name + " on " + Thread.currentThread().getName());
                    done.countDown();
                });
            }
            assertThat(ran).as("nothing before the hand-over").isEmpty();
            batch.close();
            assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
            String thread = ran.get(0).substring(ran.get(0).indexOf(" on ") + 4);
            assertThat(thread).startsWith("netfence-nft-close-");
            assertThat(ran).containsExactly("generation on " + thread, "context on " + thread, "census on " + thread);
        }
    }

    @Test
    void aCloseGivenToABatchAlreadyHandedOverRunsAtOnceOnTheCaller() {
        try (DeferredCloses closes = new DeferredCloses(1)) {
            DeferredCloses.Batch batch = closes.batch();
            batch.close();
            List<Thread> ranOn = new CopyOnWriteArrayList<>();
            batch.close(() -> ranOn.add(Thread.currentThread()));
            assertThat(ranOn).containsExactly(Thread.currentThread());
        }
    }

    @Test
    void everyCloserThreadIsStartedByTheConstructorAndNoneLaterWhateverTheLoad() throws Exception {
        Set<Thread> before = closerThreads();
        try (DeferredCloses closes = new DeferredCloses(3)) {
            Set<Thread> started = closerThreads();
            started.removeAll(before);
            assertThat(started).hasSize(3);
            CountDownLatch release = new CountDownLatch(1);
            occupy(closes, 3, release);
            handOver(closes, () -> { }); // on this thread: nothing free
            Set<Thread> after = closerThreads();
            after.removeAll(before);
            assertThat(after).isEqualTo(started);
            release.countDown();
        }
    }

    @Test
    void aBatchRunsOnTheCallersThreadWhenEveryCloserIsBusyAndTheQueueIsFull() throws Exception {
        try (DeferredCloses closes = new DeferredCloses(1)) {
            CountDownLatch release = new CountDownLatch(1);
            occupy(closes, 1, release);
            assertThat(closes.pending()).isEqualTo(17);
            List<Thread> ranOn = new CopyOnWriteArrayList<>();
            handOver(closes, () -> ranOn.add(Thread.currentThread()));
            assertThat(ranOn).containsExactly(Thread.currentThread());
            release.countDown();
        }
    }

    @Test
    void closingWaitsForTheBatchesHandedOverAndLaterOnesRunOnTheCaller() {
        DeferredCloses closes = new DeferredCloses(2);
        List<Integer> closed = new CopyOnWriteArrayList<>();
        for (int i = 0; i < 20; i++) {
            int n = i;
            handOver(closes, () -> closed.add(n));
        }
        closes.close();
        assertThat(closed).hasSize(20);
        List<Thread> ranOn = new CopyOnWriteArrayList<>();
        handOver(closes, () -> ranOn.add(Thread.currentThread()));
        assertThat(ranOn).containsExactly(Thread.currentThread());
    }

    @Test
    void inlineClosesOnTheCallersThreadAtOnce() {
        List<Thread> ranOn = new CopyOnWriteArrayList<>();
        Closer.INLINE.close(() -> ranOn.add(Thread.currentThread()));
        assertThat(ranOn).containsExactly(Thread.currentThread());
    }

    @Test
    void fewerThanOneThreadIsRefused() {
        assertThatThrownBy(() -> new DeferredCloses(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("threads must be at least 1, was 0");
    }
}
