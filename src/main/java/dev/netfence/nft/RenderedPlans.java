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
 * {@link #LIMIT} plans). Thread-safe.
 */
final class RenderedPlans {
    static final int LIMIT = 1024;

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
        this.memo = new PlanMemo<>(LIMIT, plan -> new Rendered(plan, renderer.render(plan),
                renderer.expected(plan), new java.util.concurrent.atomic.AtomicReference<>(),
                new java.util.concurrent.locks.ReentrantLock()));
    }

    Rendered of(PlannedRules plan) {
        return memo.of(plan);
    }
}
