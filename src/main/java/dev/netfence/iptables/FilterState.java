package dev.netfence.iptables;

import java.util.List;

/**
 * What {@code iptables-save} shows of netfence's footprint in the filter table of one family:
 * whether each owned chain exists, the rule lines of NETFENCE-OUT / NETFENCE-IN exactly as
 * printed ({@code -A NETFENCE-OUT ...}), and the rule lines of the built-in OUTPUT / INPUT
 * chains, from which the hook checks are derived. {@code malformed} is null for output of the
 * grammar {@code iptables-save} prints; else where it broke it (a chain name holding line breaks:
 * see {@link SaveParser}), and nothing else here is to be trusted.
 */
public record FilterState(
        boolean outChainExists,
        boolean inChainExists,
        List<String> outRules,
        List<String> inRules,
        List<String> outputRules,
        List<String> inputRules,
        String malformed) {
    public FilterState {
        outRules = List.copyOf(outRules);
        inRules = List.copyOf(inRules);
        outputRules = List.copyOf(outputRules);
        inputRules = List.copyOf(inputRules);
    }

    /** Well-formed output. */
    public FilterState(boolean outChainExists, boolean inChainExists, List<String> outRules, List<String> inRules,
            List<String> outputRules, List<String> inputRules) {
        this(outChainExists, inChainExists, outRules, inRules, outputRules, inputRules, null);
    }

    /** A namespace netfence never touched. */
    public static FilterState empty() {
        return new FilterState(false, false, List.of(), List.of(), List.of(), List.of());
    }

    /** Whether OUTPUT jumps to NETFENCE-OUT at all. */
    public boolean outputHooked() {
        return outputHookCount() > 0;
    }

    /** Whether the first rule of OUTPUT is the jump to NETFENCE-OUT. */
    public boolean outputHookFirst() {
        return !outputRules.isEmpty() && outputRules.get(0).equals(RestoreRenderer.OUTPUT_HOOK);
    }

    /** How many OUTPUT rules are the jump to NETFENCE-OUT. */
    public int outputHookCount() {
        return (int) outputRules.stream().filter(RestoreRenderer.OUTPUT_HOOK::equals).count();
    }

    /** Whether INPUT jumps to NETFENCE-IN at all. */
    public boolean inputHooked() {
        return inputHookCount() > 0;
    }

    /** Whether the first rule of INPUT is the jump to NETFENCE-IN. */
    public boolean inputHookFirst() {
        return !inputRules.isEmpty() && inputRules.get(0).equals(RestoreRenderer.INPUT_HOOK);
    }

    /** How many INPUT rules are the jump to NETFENCE-IN. */
    public int inputHookCount() {
        return (int) inputRules.stream().filter(RestoreRenderer.INPUT_HOOK::equals).count();
    }
}
