package dev.netfence.policy.store;

import dev.netfence.policy.NetworkPolicy;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/** A policy store the test fills directly; always caught up. */
public class InMemoryPolicyStore implements PolicyStore {
    private final PolicyTable table = new PolicyTable();

    public InMemoryPolicyStore put(String taskId, NetworkPolicy policy) {
        table.put(taskId, new StoredPolicy.Valid(policy));
        return this;
    }

    public InMemoryPolicyStore putInvalid(String taskId, String reason) {
        table.put(taskId, new StoredPolicy.Invalid(List.of(reason)));
        return this;
    }

    public void remove(String taskId) {
        table.remove(taskId);
    }

    @Override
    public Optional<StoredPolicy> lookup(String taskId) {
        return table.get(taskId);
    }

    @Override
    public Optional<StoredPolicy> await(String taskId, Duration timeout) throws InterruptedException {
        return table.await(taskId, timeout);
    }

    @Override
    public CompletableFuture<Optional<StoredPolicy>> whenAvailable(String taskId, Duration timeout) {
        return table.whenAvailable(taskId, timeout);
    }

    @Override
    public boolean isCaughtUp() {
        return true;
    }

    @Override
    public void close() {}
}
