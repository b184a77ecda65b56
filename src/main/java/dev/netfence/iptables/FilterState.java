package dev.netfence.iptables;

import dev.netfence.rules.Direction;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What {@code iptables-save} shows of netfence's footprint in the filter table of one family:
 * which owned chains exist ({@code NETFENCE-OUT}, {@code -IN}, {@code -FWD}), and the rule lines
 * exactly as printed ({@code -A NETFENCE-OUT ...}) of those chains and of the built-in OUTPUT,
 * INPUT and FORWARD chains that hold the hooks, by chain name; the hook checks are derived from
 * them. {@code malformed} is null for output of the grammar {@code iptables-save} prints; else
 * where it broke it (a chain name holding line breaks: see {@link SaveParser}), and nothing else
 * here is to be trusted.
 *
 * @param ownedChains the owned chains declared in the filter table
 * @param rules the rule lines of each owned and built-in chain, in order (a chain without rules may be absent)
 */
public record FilterState(Set<String> ownedChains, Map<String, List<String>> rules, String malformed) {
    public FilterState {
        ownedChains = Set.copyOf(ownedChains);
        Map<String, List<String>> copy = new java.util.HashMap<>();
        rules.forEach((chain, lines) -> copy.put(chain, List.copyOf(lines)));
        rules = Map.copyOf(copy);
    }

    /** Well-formed output. */
    public FilterState(Set<String> ownedChains, Map<String, List<String>> rules) {
        this(ownedChains, rules, null);
    }

    /** A namespace netfence never touched. */
    public static FilterState empty() {
        return new FilterState(Set.of(), Map.of());
    }

    /** Whether {@code direction}'s owned chain exists. */
    public boolean exists(Direction direction) {
        return ownedChains.contains(RestoreRenderer.chain(direction));
    }

    /** The rule lines of {@code direction}'s owned chain. */
    public List<String> ownedRules(Direction direction) {
        return rules.getOrDefault(RestoreRenderer.chain(direction), List.of());
    }

    /** The rule lines of the built-in chain that holds {@code direction}'s hook. */
    public List<String> builtinRules(Direction direction) {
        return rules.getOrDefault(RestoreRenderer.builtin(direction), List.of());
    }

    /** Whether the built-in chain jumps to {@code direction}'s owned chain at all. */
    public boolean hooked(Direction direction) {
        return hookCount(direction) > 0;
    }

    /** Whether the first rule of the built-in chain is the jump to {@code direction}'s owned chain. */
    public boolean hookFirst(Direction direction) {
        List<String> builtin = builtinRules(direction);
        return !builtin.isEmpty() && builtin.get(0).equals(RestoreRenderer.hook(direction));
    }

    /** How many rules of the built-in chain are the jump to {@code direction}'s owned chain. */
    public int hookCount(Direction direction) {
        return (int) builtinRules(direction).stream().filter(RestoreRenderer.hook(direction)::equals).count();
    }
}
