package dev.netfence.rules;

import dev.netfence.policy.Family;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What one policy (or the quarantine) plans for a namespace: one {@link RuleSet} per family,
 * always both IPv4 and IPv6 so neither family is left open, and the digest of the whole plan.
 *
 * @param digest {@code sha256:<hex>} over the canonical form of every rule of every family
 * @param warnings what the plan deliberately left out and an operator should know (no trusted
 *     DNS resolver, a hostname address inside a blocked subnet), for the outcome's
 *     {@code warnings}; not part of the digest (the rules are)
 */
public record PlannedRules(Map<Family, RuleSet> byFamily, String digest, List<String> warnings) {
    public PlannedRules {
        Objects.requireNonNull(digest, "digest");
        EnumMap<Family, RuleSet> copy = new EnumMap<>(Family.class);
        copy.putAll(byFamily);
        byFamily = java.util.Collections.unmodifiableMap(copy);
        warnings = warnings == null ? List.of() : List.copyOf(warnings);
    }

    /** A plan without warnings. */
    public PlannedRules(Map<Family, RuleSet> byFamily, String digest) {
        this(byFamily, digest, List.of());
    }

    /** Total number of rules over all families (hook rules not counted). */
    public int ruleCount() {
        int n = 0;
        for (RuleSet set : byFamily.values()) {
            n += set.size();
        }
        return n;
    }

    /** The families this plan covers, IPv4 first. */
    public List<Family> families() {
        return List.copyOf(byFamily.keySet());
    }

    /** The rule set of one family; throws when the plan has none for it. */
    public RuleSet forFamily(Family family) {
        RuleSet set = byFamily.get(family);
        if (set == null) {
            throw new IllegalArgumentException("no rules planned for " + family);
        }
        return set;
    }
}
