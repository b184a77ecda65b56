package dev.netfence.enforce;

import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyDigest;
import dev.netfence.rules.PlannedRules;
import dev.netfence.rules.RuleBoundedLru;
import java.net.InetAddress;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Remembers recent plans and policy digests. Planning (about forty rules, each formatted for the
 * plan digest, plus three SHA-256 digests) was the largest CPU cost per event in the benchmark,
 * yet every container of a task gets the same policy, and a plan is a pure function of the
 * (immutable, value-equal) policy, the resolved addresses and the node's trusted resolvers: so a bounded LRU
 * keyed by exactly those inputs returns an identical result. Looking a policy up by value hashes
 * and compares the whole record tree, which the profile then showed as the next largest cost; the
 * policy store hands out the same instance for a task until its policy changes, so a first level
 * keyed by the instance's identity answers most lookups, and the value level behind it still
 * shares one plan among tasks with equal policies. Plans are also bounded by the rules they hold
 * ({@link RuleBoundedLru}): a plan took about 150 bytes a rule (measured: 0.3 MB for one of 2,097
 * rules), and a tenant whose hostnames answer new addresses at every resync makes a new plan per
 * answer set, so 4,096 entries of plans of tens of thousands of rules were hundreds of megabytes;
 * now the identity level holds at most {@link #MAX_RULES_BY_IDENTITY} rules (about 40 MB; 4,096
 * ordinary plans of 64 rules, as before) and the value level {@link #MAX_RULES_BY_VALUE} (512 plans
 * of 128). Thread-safe.
 */
final class PlanCache {
    private static final int MAX_BY_VALUE = 512;
    private static final int MAX_BY_IDENTITY = 4096;
    static final long MAX_RULES_BY_VALUE = 65_536;
    static final long MAX_RULES_BY_IDENTITY = 262_144;

    private record Key(NetworkPolicy policy, Map<String, List<InetAddress>> resolved, List<InetAddress> nameservers) {}

    /** The same inputs, but the policy compared by identity: no walk over the record tree. */
    private record IdentityKey(NetworkPolicy policy, Map<String, List<InetAddress>> resolved,
            List<InetAddress> nameservers) {
        @Override
        public boolean equals(Object o) {
            return o instanceof IdentityKey k && k.policy == policy && k.resolved.equals(resolved)
                    && k.nameservers.equals(nameservers);
        }

        @Override
        public int hashCode() {
            return (System.identityHashCode(policy) * 31 + resolved.hashCode()) * 31 + nameservers.hashCode();
        }
    }

    private final RuleBoundedLru<IdentityKey, PlannedRules> plansByIdentity =
            new RuleBoundedLru<>(MAX_BY_IDENTITY, MAX_RULES_BY_IDENTITY, PlannedRules::ruleCount);
    private final RuleBoundedLru<Key, PlannedRules> plans =
            new RuleBoundedLru<>(MAX_BY_VALUE, MAX_RULES_BY_VALUE, PlannedRules::ruleCount);
    private final Map<IdentityKey, String> digestsByIdentity = lru(MAX_BY_IDENTITY);
    private final Map<NetworkPolicy, String> digests = lru(MAX_BY_VALUE);

    PlannedRules plan(NetworkPolicy policy, Map<String, List<InetAddress>> resolved, List<InetAddress> nameservers,
            Supplier<PlannedRules> planner) {
        Map<String, List<InetAddress>> r = Map.copyOf(resolved);
        List<InetAddress> ns = List.copyOf(nameservers);
        IdentityKey fast = new IdentityKey(policy, r, ns);
        PlannedRules known = plansByIdentity.get(fast);
        if (known != null) {
            return known;
        }
        Key key = new Key(policy, r, ns);
        known = plans.get(key);
        PlannedRules result = known != null ? known : planner.get();
        if (known == null) {
            plans.put(key, result);
        }
        plansByIdentity.put(fast, result);
        return result;
    }

    /** The rules of the plans each level holds now: by identity, by value. */
    long[] heldRules() {
        return new long[] {plansByIdentity.heldRules(), plans.heldRules()};
    }

    String digest(NetworkPolicy policy) {
        return lookup(digestsByIdentity, new IdentityKey(policy, Map.of(), List.of()), digests, policy,
                () -> PolicyDigest.of(policy));
    }

    /** The identity level, then the value level, then {@code compute}; a result is remembered at both levels. */
    private static <K, V> V lookup(Map<IdentityKey, V> byIdentity, IdentityKey fast, Map<K, V> byValue, K key,
            Supplier<V> compute) {
        synchronized (byIdentity) {
            V known = byIdentity.get(fast);
            if (known != null) {
                return known;
            }
        }
        V known;
        synchronized (byValue) {
            known = byValue.get(key);
        }
        V result = known != null ? known : compute.get();
        if (known == null) {
            synchronized (byValue) {
                byValue.put(key, result);
            }
        }
        synchronized (byIdentity) {
            byIdentity.put(fast, result);
        }
        return result;
    }

    private static <K, V> Map<K, V> lru(int max) {
        return new LinkedHashMap<>(64, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<K, V> eldest) {
                return size() > max;
            }
        };
    }
}
