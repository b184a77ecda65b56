package dev.netfence.hostguard;

import dev.netfence.rules.PlannedRules;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The host guard's chain body ({@link GuardRenderer#rules}) of recently guarded plans, and the
 * same lines in the canonical form a listing is compared in, so a guard of a plan seen before is
 * not rendered again: both depend on the plan alone, and rendering them (rule folding, then a
 * regular expression over the listing to sort set elements) was a fifth of the guard's CPU per
 * apply. Looked up by the plan's digest and used only when the remembered plan is the same
 * instance or equal to it, so a plan with a reused digest never gets another plan's text. At
 * most {@link #LIMIT} plans are kept (emptied when it would grow past that). Thread-safe.
 */
final class RenderedGuards {
    static final int LIMIT = 1024;

    /** The body of {@code plan}'s chain, and each of its lines in canonical form. */
    record Rendered(PlannedRules plan, List<String> body, List<String> canonicalBody) {}

    private final GuardRenderer renderer;
    private final Map<String, Rendered> byDigest = new ConcurrentHashMap<>();

    RenderedGuards(GuardRenderer renderer) {
        this.renderer = Objects.requireNonNull(renderer, "renderer");
    }

    Rendered of(PlannedRules plan) {
        Objects.requireNonNull(plan, "plan");
        Rendered known = byDigest.get(plan.digest());
        if (known != null && (known.plan() == plan || known.plan().equals(plan))) {
            return known;
        }
        List<String> body = List.copyOf(renderer.rules(plan));
        Rendered fresh = new Rendered(plan, body, body.stream().map(GuardRenderer::canonical).toList());
        if (byDigest.size() >= LIMIT) {
            byDigest.clear();
        }
        byDigest.put(plan.digest(), fresh);
        return fresh;
    }
}
