package dev.netfence.reconcile;

import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyDigest;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Each task's policy digest, computed once per policy instance: the policy store hands out the
 * same instance until the task's policy changes, and a digest (canonical JSON and SHA-256) per
 * container and resync was a visible share of a resync's CPU. At most {@link #KEPT} tasks are
 * remembered (all forgotten past that). Split out of {@link Corrections}. Thread-safe.
 */
final class TaskDigests {
    static final int KEPT = 16_384;

    private record Digested(NetworkPolicy policy, String digest) {}

    private final Map<String, Digested> digests = new ConcurrentHashMap<>();

    /** The digest of {@code policy}, the current policy of task {@code taskId}. */
    String of(String taskId, NetworkPolicy policy) {
        Digested known = digests.get(taskId);
        if (known != null && known.policy() == policy) {
            return known.digest();
        }
        String digest = PolicyDigest.of(policy);
        if (digests.size() >= KEPT) {
            digests.clear();
        }
        digests.put(taskId, new Digested(policy, digest));
        return digest;
    }
}
