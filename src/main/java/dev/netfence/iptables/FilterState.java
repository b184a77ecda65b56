package dev.netfence.iptables;

import java.util.List;

/**
 * What {@code iptables-save} shows of netfence's footprint in the filter table: the rule lines of
 * the owned chains exactly as printed ({@code -A NETFENCE-OUT ...}), whether each owned chain
 * exists, and whether OUTPUT / INPUT jump to them, and whether that jump is their first rule.
 */
public record FilterState(
        boolean outChainExists,
        boolean inChainExists,
        List<String> outRules,
        List<String> inRules,
        boolean outputHooked,
        boolean outputHookFirst,
        boolean inputHooked,
        boolean inputHookFirst) {
    public FilterState {
        outRules = List.copyOf(outRules);
        inRules = List.copyOf(inRules);
    }

    /** A namespace netfence never touched. */
    public static FilterState empty() {
        return new FilterState(false, false, List.of(), List.of(), false, false, false, false);
    }
}
