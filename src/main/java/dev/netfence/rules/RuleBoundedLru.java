package dev.netfence.rules;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Objects;
import java.util.function.ToIntFunction;

/**
 * A least-recently-used map of things made from plans, bounded both by entries and by the rules
 * of the plans it holds: what a plan's cached forms cost grows with its rules (its rendered
 * transaction, expected read-back and learnt table took 3 to 4 KB a rule, measured), so a bound
 * by entries alone let a churn of distinct large plans (a tenant's hostnames answering new
 * addresses at every resync) keep hundreds of megabytes. Past either bound the least recently used
 * entries go first, one at a time, until both hold again; an entry heavier than the whole rule
 * budget is not kept at all (it is handed out, just not remembered). {@code weight} must depend on
 * the value alone and not change while it is held. Thread-safe (every method holds this map's
 * lock, briefly: no weighing beyond {@code weight} runs under it).
 */
public final class RuleBoundedLru<K, V> {
    private final int maxEntries;
    private final long maxRules;
    private final ToIntFunction<V> weight;
    private final LinkedHashMap<K, V> map = new LinkedHashMap<>(64, 0.75f, true);
    private long rules;

    /** At most {@code maxEntries} entries holding at most {@code maxRules} rules in all, as {@code weight} counts them. */
    public RuleBoundedLru(int maxEntries, long maxRules, ToIntFunction<V> weight) {
        if (maxEntries < 1) {
            throw new IllegalArgumentException("maxEntries must be at least 1, was: " + maxEntries);
        }
        if (maxRules < 1) {
            throw new IllegalArgumentException("maxRules must be at least 1, was: " + maxRules);
        }
        this.maxEntries = maxEntries;
        this.maxRules = maxRules;
        this.weight = Objects.requireNonNull(weight, "weight");
    }

    /** The value held for {@code key} (now the most recently used), or null. */
    public synchronized V get(K key) {
        return map.get(key);
    }

    /** Holds {@code value} for {@code key} as the most recently used, then forgets the least recently used past the bounds. */
    public synchronized void put(K key, V value) {
        Objects.requireNonNull(value, "value");
        V old = map.put(key, value);
        if (old != null) {
            rules -= weight.applyAsInt(old);
        }
        rules += weight.applyAsInt(value);
        Iterator<V> eldest = map.values().iterator();
        while ((map.size() > maxEntries || rules > maxRules) && eldest.hasNext()) {
            rules -= weight.applyAsInt(eldest.next());
            eldest.remove();
        }
    }

    /** The rules the held values weigh in all. */
    public synchronized long heldRules() {
        return rules;
    }

    /** The entries held. */
    public synchronized int size() {
        return map.size();
    }
}
