package dev.netfence.iptables;

import dev.netfence.policy.Family;
import dev.netfence.rules.Direction;
import dev.netfence.rules.RuleSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Decides whether a read-back shows exactly the rules that were applied: the three owned chains
 * exist and hold precisely the rendered lines, in order, and OUTPUT / INPUT / FORWARD each jump
 * to theirs once, as their first rule (a hook below another program's ACCEPT would let traffic bypass the
 * policy, so "present somewhere" is not enough). The two halves are also asked separately, so a
 * caller can tell a hook it may repair from owned chains that differ. The description of a
 * mismatch names the chain, the position and both lines, for the VERIFY_FAILED message.
 * Thread-safe.
 */
public final class RuleVerifier {
    private static final String MALFORMED = "the save output is not what iptables-save prints (a chain name with "
            + "line breaks can forge its lines), at ";

    private final RestoreRenderer renderer;

    public RuleVerifier() {
        this(new RestoreRenderer());
    }

    public RuleVerifier(RestoreRenderer renderer) {
        this.renderer = Objects.requireNonNull(renderer, "renderer");
    }

    /** Empty when {@code actual} is exactly {@code expected}; otherwise what differs first. */
    public Optional<String> mismatch(RuleSet expected, FilterState actual) {
        return chainMismatch(expected, actual).or(() -> hookMismatch(expected.family(), actual));
    }

    /**
     * Empty when the owned chains exist and hold exactly the lines of {@code expected}, in
     * order; otherwise what differs first. The hooks are not looked at.
     */
    public Optional<String> chainMismatch(RuleSet expected, FilterState actual) {
        Objects.requireNonNull(expected, "expected");
        Objects.requireNonNull(actual, "actual");
        String family = expected.family().wire() + ": ";
        if (actual.malformed() != null) {
            return Optional.of(family + MALFORMED + actual.malformed());
        }
        for (Direction direction : Direction.values()) {
            if (!actual.exists(direction)) {
                return Optional.of(family + "chain " + RestoreRenderer.chain(direction) + " is missing");
            }
        }
        for (Direction direction : Direction.values()) {
            Optional<String> diff = diff(RestoreRenderer.chain(direction), renderer.lines(expected, direction),
                    actual.ownedRules(direction));
            if (diff.isPresent()) {
                return diff.map(d -> family + d);
            }
        }
        return Optional.empty();
    }

    /**
     * Empty when OUTPUT, INPUT and FORWARD each jump to netfence's chain exactly once, as their first
     * rule; otherwise what is wrong first. Every such mismatch is one that
     * {@link RestoreRenderer#render(RuleSet, FilterState)} repairs against the same read-back.
     */
    public Optional<String> hookMismatch(Family family, FilterState actual) {
        Objects.requireNonNull(family, "family");
        Objects.requireNonNull(actual, "actual");
        if (actual.malformed() != null) {
            return Optional.of(family.wire() + ": " + MALFORMED + actual.malformed());
        }
        for (Direction direction : Direction.values()) {
            Optional<String> diff = hook(RestoreRenderer.builtin(direction), actual.hookCount(direction),
                    actual.hookFirst(direction), actual.builtinRules(direction));
            if (diff.isPresent()) {
                return diff.map(d -> family.wire() + ": " + d);
            }
        }
        return Optional.empty();
    }

    private static Optional<String> diff(String chain, List<String> expected, List<String> actual) {
        int n = Math.max(expected.size(), actual.size());
        for (int i = 0; i < n; i++) {
            String e = i < expected.size() ? expected.get(i) : null;
            String a = i < actual.size() ? actual.get(i) : null;
            if (e == null) {
                return Optional.of(chain + " has " + actual.size() + " rules, expected " + expected.size()
                        + "; unexpected rule " + (i + 1) + ": " + a);
            }
            if (a == null) {
                return Optional.of(chain + " has " + actual.size() + " rules, expected " + expected.size()
                        + "; missing rule " + (i + 1) + ": " + e);
            }
            if (!e.equals(a)) {
                return Optional.of(chain + " rule " + (i + 1) + " differs: expected [" + e + "] but found [" + a + "]");
            }
        }
        return Optional.empty();
    }

    private static Optional<String> hook(String builtin, int count, boolean first, List<String> rules) {
        if (count == 0) {
            return Optional.of(builtin + " has no jump to netfence's chain");
        }
        if (count > 1) {
            return Optional.of(builtin + " jumps to netfence's chain " + count + " times");
        }
        if (!first) {
            return Optional.of(builtin + " jump to netfence's chain is not the first rule (first is ["
                    + rules.get(0) + "])");
        }
        return Optional.empty();
    }
}
