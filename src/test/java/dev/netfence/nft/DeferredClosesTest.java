package dev.netfence.nft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
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

    private static final Duration HOUR = Duration.ofHours(1);

    /** Parks one batch of {@code closes} under {@code namespace}. */
    private static void park(DeferredCloses closes, Object namespace, Runnable... batch) {
        try (DeferredCloses.Batch b = closes.batch(namespace)) {
            for (Runnable r : batch) {
                b.close(r);
            }
        }
    }

    @Test
    void aBatchRunsInOrderOnACloserThreadOnceItsNamespaceHasBeenQuiet() throws Exception {
        try (DeferredCloses closes = new DeferredCloses(2, Duration.ofMillis(50), 8, 64)) {
            List<String> ran = new CopyOnWriteArrayList<>();
            CountDownLatch done = new CountDownLatch(3);
            DeferredCloses.Batch batch = closes.batch("ns");
            for (String name : List.of("generation", "context", "census")) {
                batch.close(() -> {
                    ran.add(name + " on " + Thread.currentThread().getName());
                    done.countDown();
                });
            }
            assertThat(ran).as("nothing before the batch is parked").isEmpty();
            batch.close();
            assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
            String thread = ran.get(0).substring(ran.get(0).indexOf(" on ") + 4);
            assertThat(thread).startsWith("netfence-nft-close-");
            assertThat(ran).containsExactly("generation on " + thread, "context on " + thread, "census on " + thread);
        }
    }

    @Test
    void batchesStayParkedWhileTheirNamespaceIsNotQuietAndClosingRunsThemAll() {
        DeferredCloses closes = new DeferredCloses(1, HOUR, 8, 64);
        List<Integer> ran = new CopyOnWriteArrayList<>();
        for (int i = 0; i < 3; i++) {
            int n = i;
            park(closes, "ns", () -> ran.add(n));
        }
        assertThat(closes.outstanding()).isEqualTo(3);
        assertThat(ran).isEmpty();
        closes.close();
        assertThat(ran).containsExactly(0, 1, 2);
        assertThat(closes.outstanding()).isZero();
    }

    @Test
    void aTripSettlesItsNamespaceWhenItsShareIsParkedThereAndOnlyThen() throws Exception {
        try (DeferredCloses closes = new DeferredCloses(1, HOUR, 2, 64)) {
            List<String> ran = new CopyOnWriteArrayList<>();
            String here = Thread.currentThread().getName();
            park(closes, "ns", () -> ran.add("first on " + Thread.currentThread().getName()));
            park(closes, "other", () -> ran.add("other"));
            closes.settle("ns", HOUR);
            assertThat(ran).as("one parked: not yet").isEmpty();
            park(closes, "ns", () -> ran.add("second on " + Thread.currentThread().getName()));
            assertThat(closes.outstanding()).isEqualTo(3);
            closes.settle("ns", HOUR);
            assertThat(ran).containsExactly("first on " + here, "second on " + here);
            assertThat(closes.outstanding()).isEqualTo(1);
            park(closes, "ns", () -> ran.add("third"));
            closes.settle("ns", HOUR);
            assertThat(ran).hasSize(2);
        }
    }

    @Test
    void aBatchBeyondItsNamespacesShareGoesToACloserAtOnce() throws Exception {
        try (DeferredCloses closes = new DeferredCloses(1, HOUR, 2, 64)) {
            List<String> ran = new CopyOnWriteArrayList<>();
            park(closes, "ns", () -> ran.add("first"));
            park(closes, "ns", () -> ran.add("second"));
            CountDownLatch third = new CountDownLatch(1);
            park(closes, "ns", () -> {
                ran.add("third on " + Thread.currentThread().getName());
                third.countDown();
            });
            assertThat(third.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(ran).singleElement().asString().startsWith("third on netfence-nft-close-");
        }
    }

    @Test
    void beyondTheLimitABatchRunsAtOnceOnACloserAndBeyondTwiceTheLimitOnTheCallersThread() throws Exception {
        DeferredCloses closes = new DeferredCloses(1, HOUR, 2, 2);
        CountDownLatch release = new CountDownLatch(1);
        List<String> ran = new CopyOnWriteArrayList<>();
        park(closes, "a", () -> ran.add("a"));
        park(closes, "b", () -> ran.add("b"));
        CountDownLatch started = new CountDownLatch(1);
        park(closes, "c", () -> {
            started.countDown();
            awaitQuietly(release);
            ran.add("c");
        });
        assertThat(started.await(10, TimeUnit.SECONDS)).as("on a closer, at once").isTrue();
        assertThat(closes.outstanding()).isEqualTo(3);
        park(closes, "d", () -> ran.add("d")); // handed over, behind the busy closer
        List<Thread> ranOn = new CopyOnWriteArrayList<>();
        park(closes, "e", () -> ranOn.add(Thread.currentThread()));
        assertThat(ranOn).containsExactly(Thread.currentThread());
        release.countDown();
        closes.close();
        assertThat(ran).containsExactlyInAnyOrder("a", "b", "c", "d");
        assertThat(closes.outstanding()).isZero();
    }

    @Test
    void aBusyNamespacesBatchesRunOnceTheOldestIsTenQuietPeriodsOldThoughItNeverGoesQuiet() throws Exception {
        try (DeferredCloses closes = new DeferredCloses(1, Duration.ofMillis(20), 1000, 1000)) {
            CountDownLatch first = new CountDownLatch(1);
            park(closes, "ns", first::countDown);
            long start = System.nanoTime();
            while (first.getCount() > 0 && System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10)) {
                park(closes, "ns", () -> { }); // never 20 ms without a batch
                Thread.sleep(2);
            }
            assertThat(first.getCount()).as("the first batch ran while the namespace stayed busy").isZero();
        }
    }

    @Test
    void aCloseThatThrowsNeitherStopsTheOthersNorLeavesTheBatchCounted() {
        DeferredCloses closes = new DeferredCloses(1, HOUR, 8, 64);
        List<String> ran = new CopyOnWriteArrayList<>();
        park(closes, "ns", () -> {
            throw new IllegalStateException("close failed");
        }, () -> ran.add("after"));
        park(closes, "ns", () -> ran.add("next batch"));
        closes.close();
        assertThat(ran).containsExactly("after", "next batch");
        assertThat(closes.outstanding()).isZero();
    }

    @Test
    void settlingPastItsBudgetHandsTheRestToACloser() throws Exception {
        try (DeferredCloses closes = new DeferredCloses(1, HOUR, 2, 64)) {
            List<String> ran = new CopyOnWriteArrayList<>();
            CountDownLatch second = new CountDownLatch(1);
            park(closes, "ns", () -> {
                ran.add("first on " + Thread.currentThread().getName());
                sleepQuietly(50);
            });
            park(closes, "ns", () -> {
                ran.add("second on " + Thread.currentThread().getName());
                second.countDown();
            });
            closes.settle("ns", Duration.ofMillis(1));
            assertThat(second.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(ran).hasSize(2);
            assertThat(ran.get(0)).isEqualTo("first on " + Thread.currentThread().getName());
            assertThat(ran.get(1)).startsWith("second on netfence-nft-close-");
        }
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
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
    void everyCloserThreadIsStartedByTheConstructorAndEveryBatchRunsOnOneOfThemOrTheCaller() throws Exception {
        Set<Thread> before = closerThreads();
        try (DeferredCloses closes = new DeferredCloses(3, Duration.ofMillis(5), 1, 100)) {
            Set<Thread> started = closerThreads();
            started.removeAll(before);
            assertThat(started).hasSize(3);
            Set<Thread> ranOn = ConcurrentHashMap.newKeySet();
            CountDownLatch all = new CountDownLatch(200);
            for (int i = 0; i < 200; i++) { // one per namespace parked, the rest handed over at once
                park(closes, "ns" + (i % 7), () -> {
                    ranOn.add(Thread.currentThread());
                    all.countDown();
                });
            }
            assertThat(all.await(10, TimeUnit.SECONDS)).isTrue();
            ranOn.remove(Thread.currentThread());
            assertThat(started).containsAll(ranOn);
            assertThat(ranOn).isNotEmpty();
        }
    }

    @Test
    void afterClosingABatchRunsOnTheCallersThread() {
        DeferredCloses closes = new DeferredCloses(2);
        closes.close();
        List<Thread> ranOn = new CopyOnWriteArrayList<>();
        park(closes, "ns", () -> ranOn.add(Thread.currentThread()));
        assertThat(ranOn).containsExactly(Thread.currentThread());
    }

    @Test
    void aCloseGivenToABatchAlreadyParkedRunsAtOnceOnTheCaller() {
        try (DeferredCloses closes = new DeferredCloses(1, HOUR, 8, 64)) {
            DeferredCloses.Batch batch = closes.batch("ns");
            batch.close();
            List<Thread> ranOn = new CopyOnWriteArrayList<>();
            batch.close(() -> ranOn.add(Thread.currentThread()));
            assertThat(ranOn).containsExactly(Thread.currentThread());
        }
    }

    @Test
    void inlineClosesOnTheCallersThreadAtOnce() {
        List<Thread> ranOn = new CopyOnWriteArrayList<>();
        Closer.INLINE.close(() -> ranOn.add(Thread.currentThread()));
        assertThat(ranOn).containsExactly(Thread.currentThread());
    }

    @Test
    void badSettingsAreRefusedWithTheirValues() {
        assertThatThrownBy(() -> new DeferredCloses(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("threads must be at least 1, was 0");
        assertThatThrownBy(() -> new DeferredCloses(1, Duration.ZERO, 1, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("quiet must be positive, was PT0S");
        assertThatThrownBy(() -> new DeferredCloses(1, HOUR, 4, 3)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("perNamespace must be at least 1 and limit at least perNamespace, were 4 and 3");
    }
}
