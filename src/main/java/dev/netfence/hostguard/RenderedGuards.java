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
 * most {@link #LIMIT} plans holding at most {@link #MAX_RULES} rules in all: 1,024 ordinary plans of
 * 64 rules, as before, but not a thousand plans of tens of thousands of rules, which a tenant whose
 * hostnames answer new addresses at every resync made, one new plan per answer set). Thread-safe.
 */
final class RenderedGuards {
    static final int LIMIT = 1024;
    static final long MAX_RULES = 65_536;

    /** The body of {@code plan}'s chain, and each of its lines in canonical form. */
    record Rendered(PlannedRules plan, List<String> body, List<String> canonicalBody) {}

    private final PlanMemo<Rendered> memo;

    RenderedGuards(GuardRenderer renderer) {
        Objects.requireNonNull(renderer, "renderer");
        this.memo = new PlanMemo<>(LIMIT, MAX_RULES, plan -> {
            List<String> body = List.copyOf(renderer.rules(plan));
            return new Rendered(plan, body, body.stream().map(GuardRenderer::canonical).toList());
        });
    }

    Rendered of(PlannedRules plan) {
        return memo.of(plan);
    }

    /** The rules of the plans whose bodies are held now (at most {@link #MAX_RULES}). */
    long heldRules() {
        return memo.heldRules();
    }
}
