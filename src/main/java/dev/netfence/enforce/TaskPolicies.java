package dev.netfence.enforce;

import dev.netfence.policy.NetworkPolicy;
import java.util.Optional;

/**
 * Where the enforcer finds a task's current policy, for one decision only: whether a member of a
 * shared namespace (a pod) whose recorded policy differs from the one being written is merely
 * behind a policy update that already reached its task ({@link NamespaceOwners}). Without it,
 * after a policy update of two tasks that share a namespace with equal policies, each member's
 * new policy was refused because the other still held the old one, at every resync, for good.
 * {@code netfence run} answers from its policy store; {@link #NONE} (one-shot {@code apply}, the
 * tests) knows no task, so such a member is refused as before.
 */
@FunctionalInterface
public interface TaskPolicies {
    /** Knows no task. */
    TaskPolicies NONE = taskId -> Optional.empty();

    /** The valid policy the store holds for {@code taskId} now; empty when none, or none valid. Never blocks. */
    Optional<NetworkPolicy> current(String taskId);
}
