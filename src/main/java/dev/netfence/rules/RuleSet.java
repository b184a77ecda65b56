package dev.netfence.rules;

import dev.netfence.policy.Family;
import java.util.List;
import java.util.Objects;

/**
 * The complete content of the three owned chains for one IP family: the ordered rules of
 * NETFENCE-OUT, of NETFENCE-IN and of NETFENCE-FWD (what the namespace routes: a sandbox is no
 * router, so the planner puts a drop there), plus the digest of the whole plan that rule
 * comments carry so a read-back can tell whose rules it sees.
 *
 * @param digest {@code sha256:<hex>} of the plan this set belongs to
 */
public record RuleSet(Family family, List<Rule> output, List<Rule> input, List<Rule> forward, String digest) {
    public RuleSet {
        Objects.requireNonNull(family, "family");
        Objects.requireNonNull(digest, "digest");
        if (!digest.matches("sha256:[0-9a-f]{64}")) {
            throw new IllegalArgumentException("digest must be sha256:<64 hex digits>, was: " + digest);
        }
        output = List.copyOf(output);
        input = List.copyOf(input);
        forward = List.copyOf(forward);
        for (Rule r : output) {
            if (r.direction() != Direction.OUT) {
                throw new IllegalArgumentException("output rules must have direction OUT: " + r);
            }
            if (r.destination() != null && r.destination().family() != family) {
                throw new IllegalArgumentException("rule destination is not " + family + ": " + r);
            }
        }
        for (Rule r : input) {
            if (r.direction() != Direction.IN) {
                throw new IllegalArgumentException("input rules must have direction IN: " + r);
            }
            if (r.destination() != null && r.destination().family() != family) {
                throw new IllegalArgumentException("rule destination is not " + family + ": " + r);
            }
        }
        for (Rule r : forward) {
            if (r.direction() != Direction.FORWARD) {
                throw new IllegalArgumentException("forward rules must have direction FORWARD: " + r);
            }
            if (r.destination() != null && r.destination().family() != family) {
                throw new IllegalArgumentException("rule destination is not " + family + ": " + r);
            }
        }
        for (Rule r : concat(concat(output, input), forward)) {
            if (r.transport() == Transport.ICMPV6 && family != Family.IPV6) {
                throw new IllegalArgumentException("ICMPv6 rule in an " + family + " rule set: " + r);
            }
            if (r.transport() == Transport.ICMP && family != Family.IPV4) {
                throw new IllegalArgumentException("ICMP rule in an " + family + " rule set: " + r);
            }
            if ((r.broadcastSourceOffLoopback() || r.broadcastDestinationOffLoopback()) && family != Family.IPV4) {
                throw new IllegalArgumentException("broadcast rule in an " + family + " rule set: " + r);
            }
        }
    }

    private static List<Rule> concat(List<Rule> a, List<Rule> b) {
        List<Rule> all = new java.util.ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    /** The rules of {@code direction}'s chain. */
    public List<Rule> rules(Direction direction) {
        return switch (direction) {
            case OUT -> output;
            case IN -> input;
            case FORWARD -> forward;
        };
    }

    /** Number of rules in the three chains (hook rules not counted). */
    public int size() {
        return output.size() + input.size() + forward.size();
    }
}
