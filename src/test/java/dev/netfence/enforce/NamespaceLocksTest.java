package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.netns.NamespaceId;
import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/** Writes into one namespace take turns; other namespaces do not wait; waiting ends at the deadline. */
class NamespaceLocksTest {
    private static final NamespaceId POD = new NamespaceId(4, 4026532000L);
    private static final NamespaceId OTHER = new NamespaceId(4, 4026532001L);

    private final NamespaceLocks locks = new NamespaceLocks();

    @Test
    void aSecondWriterOfTheSameNamespaceWaitsUntilTheFirstIsDone() throws Exception {
        NamespaceLocks.Held first = locks.lock(POD, deadline(30));
        CompletableFuture<NamespaceLocks.Held> second = CompletableFuture.supplyAsync(() -> locks.lock(POD, deadline(30)));

        assertThatThrownBy(() -> second.get(200, TimeUnit.MILLISECONDS)).isInstanceOf(TimeoutException.class);
        first.close();
        second.get(10, TimeUnit.SECONDS).close();

        assertThat(locks.size()).isZero();
    }

    @Test
    void writersOfOtherNamespacesDoNotWait() throws Exception {
        try (NamespaceLocks.Held first = locks.lock(POD, deadline(30))) {
            CompletableFuture.supplyAsync(() -> locks.lock(OTHER, deadline(30))).get(10, TimeUnit.SECONDS).close();
            assertThat(locks.size()).isEqualTo(1);
        }
    }

    @Test
    void waitingPastTheDeadlineIsTimeoutAndLeavesNothingBehind() throws Exception {
        NamespaceLocks.Held first = locks.lock(POD, deadline(30));
        CompletableFuture<NamespaceLocks.Held> late = CompletableFuture.supplyAsync(() -> locks.lock(POD, deadline(0)));

        assertThatThrownBy(() -> late.get(10, TimeUnit.SECONDS)).hasCauseInstanceOf(EnforcementException.class)
                .cause().satisfies(e -> assertThat(((EnforcementException) e).code()).isEqualTo(ErrorCode.TIMEOUT));
        first.close();
        first.close();

        assertThat(locks.size()).isZero();
    }

    private static Deadline deadline(int seconds) {
        return new Deadline(Clock.systemUTC(), Instant.now().plusSeconds(seconds));
    }
}
