package dev.netfence.reconcile;

import dev.netfence.policy.PolicyParser;
import dev.netfence.policy.store.PolicyStore;
import dev.netfence.policy.store.StoredPolicy;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/** An in-memory {@link PolicyStore} whose changes notify its listeners at once, as the real stores do. */
final class MapPolicyStore implements PolicyStore {
    private final Map<String, StoredPolicy> policies = new ConcurrentHashMap<>();
    private final List<Consumer<String>> listeners = new CopyOnWriteArrayList<>();

    void put(String task, String json) {
        policies.put(task, new StoredPolicy.Valid(new PolicyParser().parse(json.getBytes(StandardCharsets.UTF_8))));
        listeners.forEach(l -> l.accept(task));
    }

    void invalid(String task) {
        policies.put(task, new StoredPolicy.Invalid(List.of("mode: host is refused")));
        listeners.forEach(l -> l.accept(task));
    }

    void delete(String task) {
        policies.remove(task);
        listeners.forEach(l -> l.accept(task));
    }

    @Override
    public Optional<StoredPolicy> lookup(String taskId) {
        return Optional.ofNullable(policies.get(taskId));
    }

    @Override
    public Optional<StoredPolicy> await(String taskId, Duration timeout) {
        return lookup(taskId);
    }

    @Override
    public java.util.concurrent.CompletableFuture<Optional<StoredPolicy>> whenAvailable(String taskId,
            Duration timeout) {
        return java.util.concurrent.CompletableFuture.completedFuture(lookup(taskId));
    }

    /** Whether the store has read its whole topic (a test may say not yet, as at a start). */
    volatile boolean caughtUp = true;

    @Override
    public boolean isCaughtUp() {
        return caughtUp;
    }

    @Override
    public void onChange(Consumer<String> listener) {
        listeners.add(listener);
    }

    @Override
    public void close() {
    }
}
