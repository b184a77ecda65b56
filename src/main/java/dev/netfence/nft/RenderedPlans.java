package dev.netfence.nft;

import dev.netfence.rules.PlanMemo;
import dev.netfence.rules.PlannedRules;
import java.util.List;
import java.util.Objects;

/**
 * The nft transaction text and the expected read-back of recently applied plans, so a re-apply
 * of a plan does not render them again, with the plan's table as the kernel holds it once
 * learnt ({@link TableBytes}, read in a fresh namespace): all depend on the plan alone, and rendering them was a
 * good part of the Java CPU of an apply on the namespace threads (profile in docs/performance.md).
 * Remembered by {@link PlanMemo} (by digest, used only for the same or an equal plan, at most
 * {@link #LIMIT} plans holding at most {@link #MAX_RULES} rules in all). The rule budget is what
 * bounds the memory: the forms took about 3 KB a rule, 4 KB with the learnt table (measured: 6.7 MB
 * rendered for a plan of 2,097 rules, 0.2 MB for one of 65; 8.5 MB kept per new plan of 2,097 rules
 * by whole applies), so 16,384 rules are about 65 MB, and a tenant whose hostnames
 * answer new addresses at every resync, each answer set a new plan, can no longer fill a thousand
 * entries with plans of tens of thousands of rules; 256 ordinary plans of 64 rules still fit whole,
 * and a plan at the policy's address bound (about 2,100 rules from its hostnames, 4,200 at most
 * with literal endpoints and blocked subnets, see {@code enforce.ResolvedAddressBound}) leaves room
 * for several. Thread-safe.
 */
final class RenderedPlans {
    static final int LIMIT = 1024;
    static final long MAX_RULES = 16_384;

    /**
     * The transaction that replaces netfence's table with {@code plan}, every rule as the read-back
     * must show it, and the plan's table as the kernel holds it, once learnt in a fresh namespace
     * ({@link TableBytes}; null before), and the lock one learner holds while learning it.
     */
    record Rendered(PlannedRules plan, String transaction, List<NftRenderer.ExpectedRule> expected,
            java.util.concurrent.atomic.AtomicReference<TableBytes> reference,
            java.util.concurrent.locks.ReentrantLock learning) {}

    private final PlanMemo<Rendered> memo;

    RenderedPlans(NftRenderer renderer) {
        Objects.requireNonNull(renderer, "renderer");
        this.memo = new PlanMemo<>(LIMIT, MAX_RULES, plan -> new Rendered(plan, renderer.render(plan),
                renderer.expected(plan), new java.util.concurrent.atomic.AtomicReference<>(),
                new java.util.concurrent.locks.ReentrantLock()));
    }

    Rendered of(PlannedRules plan) {
        return memo.of(plan);
    }

    /** The rules of the plans whose forms are held now (at most {@link #MAX_RULES}). */
    long heldRules() {
        return memo.heldRules();
    }
}
