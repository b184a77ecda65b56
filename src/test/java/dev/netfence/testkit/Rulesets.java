package dev.netfence.testkit;

import java.util.Arrays;
import java.util.stream.Collectors;

/** Normalizes iptables-save text for comparison: drops comment lines and zeroes counters. */
public final class Rulesets {
    private Rulesets() {}

    /** {@code text} without {@code #} lines (the Generated/Completed stamps) and with [p:b] counters zeroed. */
    public static String normalize(String text) {
        return Arrays.stream(text.split("\n"))
                .filter(line -> !line.startsWith("#"))
                .map(line -> line.replaceAll("\\[\\d+:\\d+\\]", "[0:0]"))
                .collect(Collectors.joining("\n"));
    }

    /** An {@code nft list} text with every rule counter zeroed: packets counted between two reads are not a change. */
    public static String zeroNftCounters(String listing) {
        return listing.replaceAll("counter packets \\d+ bytes \\d+", "counter packets 0 bytes 0");
    }
}
