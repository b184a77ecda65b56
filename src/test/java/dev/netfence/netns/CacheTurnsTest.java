package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Lock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The turns at libnftables' interface cache: a listing waiting behind a shared turn held long (a
 * workload keeping netfence's transaction in its namespace restarting) holds other calls up only
 * while it queues, and gives up at the busy wait.
 */
class CacheTurnsTest {
    private final ExecutorService pool = Executors.newCachedThreadPool();

    @AfterEach
    void stop() {
        pool.shutdownNow();
    }

    /** A shared turn taken on another thread and held until the latch returned is counted down. */
    private CountDownLatch heldShared(CacheTurns turns) throws InterruptedException {
        return held(pool, () -> turns.shared("a command that restarts"));
    }

    /** The turn {@code take} takes, taken on a thread of {@code pool} and held until the latch returned is counted down. */
    static CountDownLatch held(ExecutorService pool, java.util.function.Supplier<Lock> take) throws InterruptedException {
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        pool.submit(() -> {
            Lock turn = take.get();
            held.countDown();
            release.await();
            turn.unlock();
            return null;
        });
        held.await();
        return release;
    }

    @Test
    void aListingWaitingBehindAHeldSharedTurnStopsHoldingOtherCallsUpAfterItsQueuedWait() throws Exception {
        CacheTurns turns = new CacheTurns(Duration.ofMillis(100), Duration.ofSeconds(5));
        CountDownLatch release = heldShared(turns); // the workload's namespace: a shared turn held long
        Future<Boolean> listing = pool.submit(() -> {
            turns.exclusive("a listing").unlock();
            return true;
        });
        Thread.sleep(300); // past the listing's queued wait

        long start = System.nanoTime();
        Future<Long> other = pool.submit(() -> { // another namespace's command
            Lock shared = turns.shared("a command");
            shared.unlock();
            return System.nanoTime();
        });

        assertThat(other.get(2, TimeUnit.SECONDS) - start).as("the other call ran at once")
                .isLessThan(TimeUnit.MILLISECONDS.toNanos(500));
        assertThat(listing.isDone()).as("the listing still waits for its turn").isFalse();
        release.countDown();
        assertThat(listing.get(2, TimeUnit.SECONDS)).as("the listing had its turn once the shared one ended").isTrue();
    }

    @Test
    void aCommandQueuedBehindAWaitingListingGoesOnWhenTheListingStopsQueueing() throws Exception {
        CacheTurns turns = new CacheTurns(Duration.ofMillis(300), Duration.ofSeconds(5));
        CountDownLatch release = heldShared(turns);
        Future<Boolean> listing = pool.submit(() -> {
            turns.exclusive("a listing").unlock();
            return true;
        });
        Thread.sleep(50); // the listing queues now
        Future<Boolean> other = pool.submit(() -> {
            turns.shared("a command").unlock();
            return true;
        });

        assertThat(other.get(2, TimeUnit.SECONDS)).as("released when the listing's queued wait ended").isTrue();
        assertThat(listing.isDone()).isFalse();
        release.countDown();
        assertThat(listing.get(2, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void aListingThatNeverGetsItsTurnIsBusyAfterTheBusyWait() throws Exception {
        CacheTurns turns = new CacheTurns(Duration.ofMillis(20), Duration.ofMillis(200));
        CountDownLatch release = heldShared(turns);
        long start = System.nanoTime();
        assertThatThrownBy(() -> turns.exclusive("a listing")).isInstanceOf(LibNftables.Busy.class)
                .hasMessageContaining("a listing");
        assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(200));
        release.countDown();
    }

    @Test
    void aTurnFreeAtOnceIsTakenAlsoByAnInterruptedThreadAndSharedNowNeverWaits() throws Exception {
        CacheTurns turns = new CacheTurns(Duration.ofMillis(20), Duration.ofMillis(200));
        Thread.currentThread().interrupt();
        try {
            turns.shared("a free").unlock();
            assertThat(Thread.currentThread().isInterrupted()).as("the interrupt is kept").isTrue();
        } finally {
            Thread.interrupted();
        }
        Lock now = turns.sharedNow();
        assertThat(now).isNotNull();
        now.unlock();

        CountDownLatch release = held(pool, () -> turns.exclusive("a listing"));
        long start = System.nanoTime();
        assertThat(turns.sharedNow()).as("while a listing runs").isNull();
        assertThat(System.nanoTime() - start).isLessThan(TimeUnit.MILLISECONDS.toNanos(100));
        release.countDown();
    }

    @Test
    void waitsOutsideTheirBoundsAreRefusedWithTheirValues() {
        assertThatThrownBy(() -> new CacheTurns(Duration.ofSeconds(3), Duration.ofSeconds(2)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("queuedWait must be between 0 and busyWait, was: PT3S and PT2S");
    }
}
