package dev.netfence.policy.store;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The in-memory map behind both stores: taskId to {@link StoredPolicy}, with waiters woken
 * whenever an entry is written, so {@link #await} returns as soon as a late policy arrives.
 */
final class PolicyTable {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final Map<String, StoredPolicy> policies = new HashMap<>();

    void put(String taskId, StoredPolicy policy) {
        lock.lock();
        try {
            policies.put(taskId, policy);
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    void remove(String taskId) {
        lock.lock();
        try {
            policies.remove(taskId);
        } finally {
            lock.unlock();
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
