package dev.netfence.policy.store;

import dev.netfence.policy.NetworkPolicy;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * Where the pipeline finds the sandbox policy of a task. A policy can be published after the
 * container event that needs it, so besides the immediate {@link #lookup} there is a bounded
 * {@link #await}. Implementations are thread-safe.
 */
public interface PolicyStore extends AutoCloseable {
    /** How long the pipeline waits for a policy that is not there yet ({@code --policy-wait}, docs/contracts.md: 5 s). */
    Duration DEFAULT_WAIT = Duration.ofSeconds(5);

    /** The task's policy as stored right now, or empty when there is none. */
    Optional<StoredPolicy> lookup(String taskId);

    /**
     * The task's policy as stored right now when it is a valid one; empty when there is none or
     * the stored document is invalid (what pod members of different tasks are compared by).
     */
    default Optional<NetworkPolicy> validPolicy(String taskId) {
        return lookup(taskId).filter(StoredPolicy.Valid.class::isInstance)
                .map(p -> ((StoredPolicy.Valid) p).policy());
    }

    /**
     * The task's policy, waiting at most {@code timeout} for it to appear; empty when it did not.
     */
    Optional<StoredPolicy> await(String taskId, Duration timeout) throws InterruptedException;

    /**
     * The task's policy without holding a thread: completed at once when stored, when it is
     * written, or with empty after {@code timeout}. Waiting events park on this.
     */
    CompletableFuture<Optional<StoredPolicy>> whenAvailable(String taskId, Duration timeout);

    /** True once the store has loaded everything that existed when it started (and from then on). */
    boolean isCaughtUp();

    /**
     * Why the store's policies may be out of date now although it caught up once (readiness
     * reports it): being read again, or its reader stopped. Empty by default.
     */
    default Optional<String> notReadyReason() {
        return Optional.empty();
    }

    /**
     * The Kafka partitions the store reads under {@code read_committed} (its policies topic's, as
     * it last found them), where a transaction left open hides every later policy change from it
     * until the transaction ends; the pipeline's readiness watches them ({@code kafka.OpenTransactions}).
     * Empty by default: a store that reads no topic.
     */
    default java.util.List<org.apache.kafka.common.TopicPartition> readCommittedPartitions() {
        return java.util.List.of();
    }

    /** Whether the store will never read a policy change again (liveness reports it: restart). */
    default boolean stoppedForGood() {
        return false;
    }

    /**
     * Calls {@code listener} with the taskId after every change of a task's policy (new, replaced by a
     * different one, deleted; the same policy stored again is no change),
     * on the store's own thread, after the change is visible to {@link #lookup}. The
     * listener must return quickly (hand the work to another thread) and not throw.
     */
    default void onChange(Consumer<String> listener) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " does not report changes");
    }

    @Override
    void close();
}
