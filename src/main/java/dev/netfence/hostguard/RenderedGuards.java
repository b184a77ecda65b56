package dev.netfence.hostguard;

import dev.netfence.rules.PlanMemo;
import dev.netfence.rules.PlannedRules;
import java.util.List;
import java.util.Objects;

/**
 * The host guard's chain body ({@link GuardRenderer#rules}) of recently guarded plans, and the
 * same lines in the canonical form a listing is compared in, so a guard of a plan seen before is
 * not rendered again: both depend on the plan alone, and rendering them (rule folding, then a
 * regular expression over the listing to sort set elements) was a fifth of the guard's CPU per
 * apply. Remembered by {@link PlanMemo} (by digest, used only for the same or an equal plan, at
 * most {@link #LIMIT} plans). Thread-safe.
 */
final class RenderedGuards {
    static final int LIMIT = 1024;

    /** The body of {@code plan}'s chain, and each of its lines in canonical form. */
    record Rendered(PlannedRules plan, List<String> body, List<String> canonicalBody) {}

    private final PlanMemo<Rendered> memo;

    RenderedGuards(GuardRenderer renderer) {
        Objects.requireNonNull(renderer, "renderer");
        this.memo = new PlanMemo<>(LIMIT, plan -> {
            List<String> body = List.copyOf(renderer.rules(plan));
            return new Rendered(plan, body, body.stream().map(GuardRenderer::canonical).toList());
        });
    }

    Rendered of(PlannedRules plan) {
        return memo.of(plan);
    }
}
