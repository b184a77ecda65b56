package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A container's lock excludes only actions on that container, whatever the ids' hashes; entries
 * last only while someone holds or waits for them; interrupts end only an interruptible wait.
 */
class ContainerLocksTest {
    private static final String HELD = "3f9c2a7d41e0";

    private final ContainerLocks locks = new ContainerLocks();
    private final List<Thread> threads = new ArrayList<>();

    @AfterEach
    void stopThreads() throws InterruptedException {
        for (Thread t : threads) {
            t.interrupt();
            t.join();
        }
    }

    @Test
    void containersWhoseIdsSharedAStripeOfTheOldHashDoNotWaitForEachOther() {
        List<String> sharing = idsOnTheOldStripeOf(HELD, 3);
        ReentrantLock held = locks.of(HELD);
        held.lock();
        try {
            for (String other : sharing) {
                CountDownLatch locked = new CountDownLatch(1);
                start(() -> {
                    ReentrantLock lock = locks.of(other);
                    lock.lock();
                    try {
                        locked.countDown();
                    } finally {
                        lock.unlock();
                    }
                });
                await().until(() -> locked.getCount() == 0);
            }
        } finally {
            held.unlock();
        }
        await().until(() -> locks.size() == 0);
    }

    @Test
    void anInterruptibleWaitForAnotherContainerDoesNotWaitEither() {
        String other = idsOnTheOldStripeOf(HELD, 1).get(0);
        ReentrantLock held = locks.of(HELD);
        held.lock();
        try {
            CountDownLatch locked = new CountDownLatch(1);
            start(() -> {
                ReentrantLock lock = locks.of(other);
                try {
                    lock.lockInterruptibly();
                } catch (InterruptedException e) {
                    return;
                }
                try {
                    locked.countDown();
                } finally {
                    lock.unlock();
                }
            });
            await().until(() -> locked.getCount() == 0);
        } finally {
            held.unlock();
        }
    }

    @Test
    void aSecondActionOnTheSameContainerWaitsUntilTheFirstUnlocks() {
        ReentrantLock held = locks.of(HELD);
        held.lock();
        CountDownLatch locked = new CountDownLatch(1);
        Thread second = start(() -> {
            ReentrantLock lock = locks.of(HELD);
            lock.lock();
            try {
                locked.countDown();
            } finally {
                lock.unlock();
            }
        });

        try {
            await().until(() -> held.hasQueuedThread(second));
            assertThat(locked.getCount()).isEqualTo(1);
            assertThat(locks.size()).isEqualTo(1);
        } finally {
            held.unlock();
        }

        await().until(() -> locked.getCount() == 0);
        await().until(() -> locks.size() == 0);
    }

    @Test
    void theThreadHoldingAContainersLockTakesItAgainWithoutWaiting() {
        ReentrantLock outer = locks.of(HELD);
        outer.lock();
        try {
            ReentrantLock inner = locks.of(HELD);
            inner.lock();
            try {
                assertThat(inner).isSameAs(outer);
                assertThat(inner.getHoldCount()).isEqualTo(2);
            } finally {
                inner.unlock();
            }
            assertThat(outer.isHeldByCurrentThread()).isTrue();
            assertThat(locks.size()).isEqualTo(1);
        } finally {
            outer.unlock();
        }
        assertThat(locks.size()).isZero();
    }

    @Test
    void noEntryRemainsAfterManyDistinctContainersLockedAndUnlocked() {
        for (int i = 0; i < 10_000; i++) {
            ReentrantLock lock = locks.of("container-" + i);
            lock.lock();
            try {
                assertThat(locks.size()).isEqualTo(1);
            } finally {
                lock.unlock();
            }
        }

        assertThat(locks.size()).isZero();
    }

    @Test
    void aFailedTryLockLeavesNoEntryBehind() {
        ReentrantLock held = locks.of(HELD);
        held.lock();
        AtomicBoolean got = new AtomicBoolean(true);
        CountDownLatch tried = new CountDownLatch(1);
        start(() -> {
            got.set(locks.of(HELD).tryLock());
            tried.countDown();
        });
        try {
            await().until(() -> tried.getCount() == 0);
        } finally {
            held.unlock();
        }

        assertThat(got).isFalse();
        assertThat(locks.size()).isZero();
    }

    @Test
    void anInterruptEndsAnInterruptibleWaitAndLeavesNoEntryBehind() {
        ReentrantLock held = locks.of(HELD);
        held.lock();
        AtomicReference<Throwable> ended = new AtomicReference<>();
        CountDownLatch done = new CountDownLatch(1);
        Thread waiter = start(() -> {
            ReentrantLock lock = locks.of(HELD);
            try {
                lock.lockInterruptibly();
                lock.unlock();
            } catch (InterruptedException e) {
                ended.set(e);
            } finally {
                done.countDown();
            }
        });
        try {
            await().until(() -> held.hasQueuedThread(waiter));

            waiter.interrupt();
            await().until(() -> done.getCount() == 0);
            assertThat(ended.get()).isInstanceOf(InterruptedException.class);
            assertThat(locks.size()).isEqualTo(1);
        } finally {
            held.unlock();
        }

        assertThat(locks.size()).isZero();
    }

    @Test
    void anAlreadyInterruptedThreadIsRefusedAtOnceByAnInterruptibleLock() {
        Thread.currentThread().interrupt();
        ReentrantLock lock = locks.of(HELD);
        Throwable thrown = null;
        try {
            lock.lockInterruptibly();
            lock.unlock();
        } catch (InterruptedException e) {
            thrown = e;
        }

        assertThat(thrown).isInstanceOf(InterruptedException.class);
        assertThat(Thread.interrupted()).isFalse();
        assertThat(locks.size()).isZero();
    }

    @Test
    void anInterruptDoesNotEndAnUninterruptibleWaitAndStaysSet() {
        ReentrantLock held = locks.of(HELD);
        held.lock();
        AtomicBoolean interruptedInside = new AtomicBoolean();
        CountDownLatch locked = new CountDownLatch(1);
        Thread waiter = start(() -> {
            ReentrantLock lock = locks.of(HELD);
            lock.lock();
            try {
                interruptedInside.set(Thread.currentThread().isInterrupted());
                locked.countDown();
            } finally {
                lock.unlock();
            }
        });
        try {
            await().until(() -> held.hasQueuedThread(waiter));

            waiter.interrupt();
            assertThat(held.hasQueuedThread(waiter)).isTrue();
            assertThat(locked.getCount()).isEqualTo(1);
        } finally {
            held.unlock();
        }

        await().until(() -> locked.getCount() == 0);
        assertThat(interruptedInside).isTrue();
        await().until(() -> locks.size() == 0);
    }

    /** {@code count} other ids that the former 256-stripe lock gave the same lock as {@code id}. */
    private static List<String> idsOnTheOldStripeOf(String id, int count) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; ids.size() < count; i++) {
            String candidate = String.format("%012x", i * 7919L + 1);
            if (!candidate.equals(id) && oldStripe(candidate) == oldStripe(id)) {
                ids.add(candidate);
            }
        }
        return ids;
    }

    private static int oldStripe(String id) {
        return Math.floorMod(id.hashCode() * 0x9E3779B9, 256);
    }

    private Thread start(Runnable body) {
        Thread t = new Thread(body, "container-locks-test-" + threads.size());
        t.setDaemon(true);
        threads.add(t);
        t.start();
        return t;
    }
}
