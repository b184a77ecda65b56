package dev.netfence.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class UninterruptiblyTest {
    @Test
    void anInterruptWhileWaitingDoesNotEndTheWaitAndIsKeptForTheCaller() throws Exception {
        CompletableFuture<String> future = new CompletableFuture<>();
        AtomicReference<String> value = new AtomicReference<>();
        AtomicBoolean interruptedAfter = new AtomicBoolean();
        CountDownLatch waiting = new CountDownLatch(1);
        Thread waiter = new Thread(() -> {
            waiting.countDown();
            try {
                value.set(Uninterruptibly.get(future));
            } catch (ExecutionException e) {
                value.set("failed: " + e);
            }
            interruptedAfter.set(Thread.currentThread().isInterrupted());
        });
        waiter.start();
        assertThat(waiting.await(10, TimeUnit.SECONDS)).isTrue();
        waiter.interrupt();
        Thread.sleep(100);
        assertThat(waiter.isAlive()).as("still waiting after the interrupt").isTrue();

        future.complete("done");
        waiter.join(10_000);

        assertThat(value.get()).isEqualTo("done");
        assertThat(interruptedAfter).as("the interrupt is set again for the caller").isTrue();
    }

    @Test
    void aFailedFutureIsThrownAsExecutionExceptionWithItsCause() {
        IllegalStateException cause = new IllegalStateException("thrown by the test");
        CompletableFuture<String> future = CompletableFuture.failedFuture(cause);

        assertThatThrownBy(() -> Uninterruptibly.get(future)).isInstanceOf(ExecutionException.class).hasCause(cause);
        assertThat(Thread.currentThread().isInterrupted()).isFalse();
    }
}
