package dev.netfence.enforce;

import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyDigest;
import dev.netfence.rules.PlannedRules;
import java.net.InetAddress;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Remembers the last few hundred plans and policy digests. Planning (about forty rules, each
 * formatted for the plan digest, plus three SHA-256 digests) was the largest CPU cost per event
 * in the benchmark, yet every container of a task gets the same policy, and a plan is a pure
 * function of the (immutable, value-equal) policy, the resolved addresses and the nameservers:
 * so a bounded LRU keyed by exactly those inputs returns an identical result. Thread-safe.
 */
final class PlanCache {
    private static final int MAX_ENTRIES = 512;

    private record Key(NetworkPolicy policy, Map<String, List<InetAddress>> resolved, List<InetAddress> nameservers) {}

    private final Map<Key, PlannedRules> plans = lru();
    private final Map<NetworkPolicy, String> digests = lru();

    PlannedRules plan(NetworkPolicy policy, Map<String, List<InetAddress>> resolved, List<InetAddress> nameservers,
            Supplier<PlannedRules> planner) {
        Key key = new Key(policy, Map.copyOf(resolved), List.copyOf(nameservers));
        synchronized (plans) {
            PlannedRules known = plans.get(key);
            if (known != null) {
                return known;
            }
        }
        PlannedRules planned = planner.get();
        synchronized (plans) {
            plans.put(key, planned);
        }
        return planned;
    }

    String digest(NetworkPolicy policy) {
        synchronized (digests) {
            String known = digests.get(policy);
            if (known != null) {
                return known;
            }
        }
        String digest = PolicyDigest.of(policy);
        synchronized (digests) {
            digests.put(policy, digest);
        }
        return digest;
    }

    private static <K, V> Map<K, V> lru() {
        return new LinkedHashMap<>(64, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<K, V> eldest) {
                return size() > MAX_ENTRIES;
            }
        };
    }
}
