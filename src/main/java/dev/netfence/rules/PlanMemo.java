package dev.netfence.rules;

import java.util.Objects;
import java.util.function.Function;

/**
 * Something made from a plan alone (a backend's rendered text), remembered for recently seen
 * plans so that a plan applied again is not made again. Looked up by the plan's digest (a hash of
 * every rule) and used only when the remembered plan is the same instance (the plan cache hands
 * out one per policy) or equal to it, so a plan with a reused digest can never get another plan's
 * value. At most {@code limit} plans holding at most {@code maxRules} rules in all are kept
 * ({@link RuleBoundedLru}: what is made from a plan grows with its rules, so a bound by entries
 * alone let a churn of distinct large plans keep hundreds of megabytes), the least recently used
 * one forgotten first (not all at once: one tenant whose hostnames resolve to new addresses at
 * every resync makes a new plan each time, and emptying the map then made every other plan be
 * made, and learnt, again). Thread-safe (the map under its own lock, held for the look-up and the
 * insertion only); {@code make} may run twice for one plan under a race, and must be pure: what it
 * makes depends on the plan alone (a value may carry a cache of its own, filled later, whose loss
 * when a value is replaced or made twice costs only the work it saved).
 */
public final class PlanMemo<V> {
    private record Made<V>(PlannedRules plan, V value) {}

    private final Function<PlannedRules, V> make;
    private final RuleBoundedLru<String, Made<V>> byDigest;

    public PlanMemo(int limit, long maxRules, Function<PlannedRules, V> make) {
        if (limit < 1) {
            throw new IllegalArgumentException("limit must be at least 1, was: " + limit);
        }
        this.make = Objects.requireNonNull(make, "make");
        this.byDigest = new RuleBoundedLru<>(limit, maxRules, made -> made.plan().ruleCount());
    }

    /** What {@code make} makes of {@code plan}, made now or remembered. */
    public V of(PlannedRules plan) {
        Objects.requireNonNull(plan, "plan");
        Made<V> known = byDigest.get(plan.digest());
        if (known != null && (known.plan() == plan || known.plan().equals(plan))) {
            return known.value();
        }
        Made<V> fresh = new Made<>(plan, make.apply(plan));
        byDigest.put(plan.digest(), fresh);
        return fresh.value();
    }

    /** The rules of the plans remembered now. */
    public long heldRules() {
        return byDigest.heldRules();
    }

    /** The plans remembered now. */
    public int size() {
        return byDigest.size();
    }
}
