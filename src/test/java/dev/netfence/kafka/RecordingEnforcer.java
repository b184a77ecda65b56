package dev.netfence.kafka;

import dev.netfence.core.EnforcementResult;
import dev.netfence.enforce.EnforcementRequest;
import dev.netfence.enforce.Enforcer;
import dev.netfence.policy.NetworkPolicy;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A fake {@link Enforcer} for pipeline tests that need no kernel: records every request per
 * container in call order, notices two calls for one container overlapping, tracks the highest
 * number of concurrent calls, can hold calls for chosen containers until released, and can fail
 * a container's next call.
 */
final class RecordingEnforcer implements Enforcer {
    private final Map<String, List<NetworkPolicy>> applied = new ConcurrentHashMap<>();
    private final Set<String> running = ConcurrentHashMap.newKeySet();
    private final Map<String, CountDownLatch> holds = new ConcurrentHashMap<>();
    private final AtomicInteger concurrent = new AtomicInteger();
    private final AtomicInteger maxConcurrent = new AtomicInteger();
    private final AtomicInteger calls = new AtomicInteger();
    private final List<String> overlaps = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final Map<String, EnforcementResult> failures = new ConcurrentHashMap<>();
    private volatile long delayMillis;

    RecordingEnforcer delay(long millis) {
        this.delayMillis = millis;
        return this;
    }

    /** Calls for {@code containerId} block until {@link #release} is called. */
    CountDownLatch hold(String containerId) {
        return holds.computeIfAbsent(containerId, k -> new CountDownLatch(1));
    }

    void release(String containerId) {
        hold(containerId).countDown();
    }

    /** The next call for {@code containerId} is recorded and answered {@code failed} with {@code code}. */
    void failNext(String containerId, dev.netfence.core.ErrorCode code, String message) {
        failures.put(containerId, EnforcementResult.failure(code, message).attempts(1).build());
    }

    @Override
    public EnforcementResult enforce(EnforcementRequest request) {
        String id = request.containerId();
        calls.incrementAndGet();
        if (!running.add(id)) {
            overlaps.add(id);
        }
        int now = concurrent.incrementAndGet();
        maxConcurrent.accumulateAndGet(now, Math::max);
        try {
            CountDownLatch h = holds.get(id);
            if (h != null) {
                h.await(120, TimeUnit.SECONDS);
            }
            if (delayMillis > 0) {
                Thread.sleep(delayMillis);
            }
            applied.computeIfAbsent(id, k -> java.util.Collections.synchronizedList(new ArrayList<>()))
                    .add(request.policy());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            concurrent.decrementAndGet();
            running.remove(id);
        }
        EnforcementResult failure = failures.remove(id);
        if (failure != null) {
            return failure;
        }
        return EnforcementResult.applied().policyDigest("sha256:" + "0".repeat(64)).mode("bridge")
                .backend("iptables-nft").families(List.of("ipv4", "ipv6")).ruleCount(3).attempts(1).build();
    }

    List<NetworkPolicy> appliedTo(String containerId) {
        List<NetworkPolicy> l = applied.get(containerId);
        return l == null ? List.of() : List.copyOf(l);
    }

    Set<String> containers() {
        return Set.copyOf(applied.keySet());
    }

    int calls() {
        return calls.get();
    }

    int maxConcurrent() {
        return maxConcurrent.get();
    }

    List<String> overlaps() {
        return List.copyOf(overlaps);
    }
}
