package dev.netfence.policy.store;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.slf4j.LoggerFactory;

/**
 * The in-memory map behind both stores: taskId to {@link StoredPolicy}, with waiters woken
 * whenever an entry is written, so {@link #await} returns as soon as a late policy arrives.
 * {@link #whenAvailable} is the thread-free form: a future completed by the write of the task's
 * policy, or with empty when the timeout passes first (on {@link CompletableFuture}'s timer).
 */
final class PolicyTable {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final Map<String, StoredPolicy> policies = new HashMap<>();
    private final Map<String, List<CompletableFuture<Optional<StoredPolicy>>>> waiters = new HashMap<>();
    private final List<Consumer<String>> listeners = new CopyOnWriteArrayList<>();

    /** See {@link PolicyStore#onChange}: called after each put that changes a policy and each remove, outside the lock. */
    void onChange(Consumer<String> listener) {
        listeners.add(listener);
    }

    private void changed(String taskId) {
        for (Consumer<String> l : listeners) {
            try {
                l.accept(taskId);
            } catch (RuntimeException e) {
                LoggerFactory.getLogger(PolicyTable.class).error("policy change listener failed for task {}", taskId, e);
            }
        }
    }

    /** Stores {@code policy} for the task; the same policy written again (equal) tells no listener. */
    void put(String taskId, StoredPolicy policy) {
        List<CompletableFuture<Optional<StoredPolicy>>> woken;
        lock.lock();
        try {
            if (policy.equals(policies.put(taskId, policy))) {
                return; // nothing changed: no policy update to queue for the task's containers
            }
            changed.signalAll();
            woken = waiters.remove(taskId);
        } finally {
            lock.unlock();
        }
        if (woken != null) {
            woken.forEach(w -> w.complete(Optional.of(policy)));
        }
        changed(taskId);
    }

    /** The task's policy now, or a future completed when it is written or with empty after {@code timeout}. */
    CompletableFuture<Optional<StoredPolicy>> whenAvailable(String taskId, Duration timeout) {
        CompletableFuture<Optional<StoredPolicy>> w = new CompletableFuture<>();
        lock.lock();
        try {
            StoredPolicy p = policies.get(taskId);
            if (p != null) {
                return CompletableFuture.completedFuture(Optional.of(p));
            }
            waiters.computeIfAbsent(taskId, k -> new ArrayList<>()).add(w);
        } finally {
            lock.unlock();
        }
        w.completeOnTimeout(Optional.empty(), timeout.toNanos(), TimeUnit.NANOSECONDS);
        w.whenComplete((v, e) -> forget(taskId, w));
        return w;
    }

    private void forget(String taskId, CompletableFuture<Optional<StoredPolicy>> w) {
        lock.lock();
        try {
            List<CompletableFuture<Optional<StoredPolicy>>> l = waiters.get(taskId);
            if (l != null && l.remove(w) && l.isEmpty()) {
                waiters.remove(taskId);
            }
        } finally {
            lock.unlock();
        }
    }

    void remove(String taskId) {
        boolean removed;
        lock.lock();
        try {
            removed = policies.remove(taskId) != null;
        } finally {
            lock.unlock();
        }
        if (removed) {
            changed(taskId);
        }
    }

    int size() {
        lock.lock();
        try {
            return policies.size();
        } finally {
            lock.unlock();
        }
    }

    java.util.Set<String> taskIds() {
        lock.lock();
        try {
            return java.util.Set.copyOf(policies.keySet());
        } finally {
            lock.unlock();
        }
    }

    Optional<StoredPolicy> get(String taskId) {
        lock.lock();
        try {
            return Optional.ofNullable(policies.get(taskId));
        } finally {
            lock.unlock();
        }
    }

    Optional<StoredPolicy> await(String taskId, Duration timeout) throws InterruptedException {
        long remaining = timeout.toNanos();
        lock.lock();
        try {
            StoredPolicy p;
            while ((p = policies.get(taskId)) == null && remaining > 0) {
                remaining = changed.awaitNanos(remaining);
            }
            return Optional.ofNullable(p);
        } finally {
            lock.unlock();
        }
    }
}
