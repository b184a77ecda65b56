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

    /** Occupies every one of {@code threads} closers (each waits for {@code release}), then fills the queue likewise. */
    private static void occupy(DeferredCloses closes, int threads, CountDownLatch release) throws InterruptedException {
        CountDownLatch started = new CountDownLatch(threads);
        for (int i = 0; i < threads; i++) {
            closes.run(() -> {
                started.countDown();
                awaitQuietly(release);
            });
        }
        assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
        for (int i = 0; i < 16 * threads; i++) {
            closes.run(() -> awaitQuietly(release));
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
    void aCloseHandedOverRunsOnACloserThreadNotOnTheCaller() throws Exception {
        try (DeferredCloses closes = new DeferredCloses(2)) {
            List<String> ranOn = new CopyOnWriteArrayList<>();
            CountDownLatch done = new CountDownLatch(1);
            closes.run(() -> {
                ranOn.add(Thread.currentThread().getName());
                done.countDown();
            });
            assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(ranOn).singleElement().asString().startsWith("netfence-nft-close-");
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
            closes.run(() -> { }); // on this thread: nothing free
            Set<Thread> after = closerThreads();
            after.removeAll(before);
            assertThat(after).isEqualTo(started);
            release.countDown();
        }
    }

    @Test
    void aCloseRunsOnTheCallersThreadWhenEveryCloserIsBusyAndTheQueueIsFull() throws Exception {
        try (DeferredCloses closes = new DeferredCloses(1)) {
            CountDownLatch release = new CountDownLatch(1);
            occupy(closes, 1, release);
            assertThat(closes.pending()).isEqualTo(17);
            List<Thread> ranOn = new CopyOnWriteArrayList<>();
            closes.run(() -> ranOn.add(Thread.currentThread()));
            assertThat(ranOn).containsExactly(Thread.currentThread());
            release.countDown();
        }
    }

    @Test
    void closingWaitsForTheClosesHandedOverAndLaterOnesRunOnTheCaller() {
        DeferredCloses closes = new DeferredCloses(2);
        List<Integer> closed = new CopyOnWriteArrayList<>();
        for (int i = 0; i < 20; i++) {
            int n = i;
            closes.run(() -> closed.add(n));
        }
        closes.close();
        assertThat(closed).hasSize(20);
        List<Thread> ranOn = new CopyOnWriteArrayList<>();
        closes.run(() -> ranOn.add(Thread.currentThread()));
        assertThat(ranOn).containsExactly(Thread.currentThread());
    }

    @Test
    void inlineClosesOnTheCallersThread() {
        List<Thread> ranOn = new CopyOnWriteArrayList<>();
        DeferredCloses.INLINE.run(() -> ranOn.add(Thread.currentThread()));
        assertThat(ranOn).containsExactly(Thread.currentThread());
        assertThat(DeferredCloses.INLINE.pending()).isZero();
    }

    @Test
    void fewerThanOneThreadIsRefused() {
        assertThatThrownBy(() -> new DeferredCloses(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("threads must be at least 1, was 0");
    }
}
