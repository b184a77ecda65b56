package dev.netfence.nft;

import dev.netfence.rules.PlannedRules;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The nft transaction text and the expected read-back of recently applied plans, so a re-apply
 * of a plan does not render them again: both depend on the plan alone, and rendering them was a
 * good part of the Java CPU of an apply on the namespace threads (profile in docs/performance.md).
 * Looked up by the plan's digest (a hash of every rule) and used only when the remembered plan is
 * the same instance ({@code enforce.PlanCache} hands out one per policy) or equal to it, so a plan
 * with a reused digest can never get another plan's text. At most {@link #LIMIT} plans are kept
 * (the map is emptied when it would grow past that). Thread-safe.
 */
final class RenderedPlans {
    static final int LIMIT = 1024;

    /** The transaction that replaces netfence's table with {@code plan}, and every rule as the read-back must show it. */
    record Rendered(PlannedRules plan, String transaction, List<NftRenderer.ExpectedRule> expected) {}

    private final NftRenderer renderer;
    private final Map<String, Rendered> byDigest = new ConcurrentHashMap<>();

    RenderedPlans(NftRenderer renderer) {
        this.renderer = Objects.requireNonNull(renderer, "renderer");
    }

    Rendered of(PlannedRules plan) {
        Objects.requireNonNull(plan, "plan");
        Rendered known = byDigest.get(plan.digest());
        if (known != null && (known.plan() == plan || known.plan().equals(plan))) {
            return known;
        }
        Rendered fresh = new Rendered(plan, renderer.render(plan), renderer.expected(plan));
        if (byDigest.size() >= LIMIT) {
            byDigest.clear();
        }
        byDigest.put(plan.digest(), fresh);
        return fresh;
    }
}
