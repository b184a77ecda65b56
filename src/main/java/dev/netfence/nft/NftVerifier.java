package dev.netfence.nft;

import com.fasterxml.jackson.databind.JsonNode;
import dev.netfence.rules.PlannedRules;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Compares netfence's table as read back ({@link NftRuleset}) with a plan: the table exists,
 * has exactly the three base chains the renderer writes (type filter, hooks output, input and
 * forward, priority 0, policy accept), and each chain holds exactly the planned rules, in order, each with
 * the plan's comment and the very statements {@link NftRenderer#expected} lists. Returns the
 * first difference in words, empty when the table is as planned. Leftovers of the iptables
 * backend are not a mismatch of the table; the caller removes them. Thread-safe.
 */
public final class NftVerifier {
    private final NftRenderer renderer;

    public NftVerifier(NftRenderer renderer) {
        this.renderer = Objects.requireNonNull(renderer, "renderer");
    }

    /** The first way {@code actual} differs from {@code plan}, or empty. */
    public Optional<String> mismatch(PlannedRules plan, NftRuleset actual) {
        return mismatch(renderer.expected(plan), actual);
    }

    /**
     * The first way {@code actual} differs from a plan whose rules read back as {@code expected}
     * ({@link NftRenderer#expected}), or empty.
     */
    public Optional<String> mismatch(List<NftRenderer.ExpectedRule> expected, NftRuleset actual) {
        if (!actual.tablePresent()) {
            return Optional.of("table " + NftRenderer.FAMILY + " " + NftRenderer.TABLE + " is missing");
        }
        if (actual.tableFlagged()) {
            return Optional.of("table " + NftRenderer.FAMILY + " " + NftRenderer.TABLE
                    + " has flags where netfence writes none (a dormant table's rules do not run)");
        }
        List<NftRuleset.Chain> expectedChains = NftRenderer.CHAINS.stream()
                .map(name -> new NftRuleset.Chain(name, "filter", name, 0, "accept")).toList();
        if (!new java.util.HashSet<>(actual.chains()).equals(new java.util.HashSet<>(expectedChains))
                || actual.chains().size() != expectedChains.size()) {
            return Optional.of("chains are " + actual.chains() + ", expected " + expectedChains);
        }
        for (String chain : NftRenderer.CHAINS) {
            List<NftRenderer.ExpectedRule> want = expected.stream().filter(r -> r.chain().equals(chain)).toList();
            List<NftRuleset.RuleEntry> got = new ArrayList<>();
            actual.rules().stream().filter(r -> r.chain().equals(chain)).forEach(got::add);
            Optional<String> diff = compare(chain, want, got);
            if (diff.isPresent()) {
                return diff;
            }
        }
        long stray = actual.rules().stream()
                .filter(r -> !NftRenderer.CHAINS.contains(r.chain()))
                .count();
        return stray == 0 ? Optional.empty() : Optional.of(stray + " rule(s) in chains netfence does not write");
    }

    private static Optional<String> compare(String chain, List<NftRenderer.ExpectedRule> want,
            List<NftRuleset.RuleEntry> got) {
        for (int i = 0; i < Math.max(want.size(), got.size()); i++) {
            if (i >= got.size()) {
                return Optional.of("chain " + chain + " lacks rule " + (i + 1) + ": " + want.get(i).text());
            }
            if (i >= want.size()) {
                return Optional.of("chain " + chain + " has an unexpected rule " + (i + 1) + " (handle "
                        + got.get(i).handle() + ", comment " + got.get(i).comment() + ")");
            }
            NftRenderer.ExpectedRule w = want.get(i);
            NftRuleset.RuleEntry g = got.get(i);
            if (!w.comment().equals(g.comment())) {
                return Optional.of("chain " + chain + " rule " + (i + 1) + " has comment " + g.comment()
                        + ", expected " + w.comment());
            }
            if (!w.expr().equals(g.expr())) {
                return Optional.of("chain " + chain + " rule " + (i + 1) + " reads " + render(g.expr())
                        + ", expected " + render(w.expr()) + " (" + w.text() + ")");
            }
        }
        return Optional.empty();
    }

    private static String render(List<JsonNode> expr) {
        return expr.toString();
    }
}
