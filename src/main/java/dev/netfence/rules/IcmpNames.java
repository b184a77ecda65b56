package dev.netfence.rules;

import java.util.Map;

/**
 * The names nft uses for ICMPv6 types ({@code icmpv6 type nd-neighbor-solicit}) and for the IPv4 ICMP
 * types a plan matches ({@code icmp type redirect}): nft prints these
 * instead of the numbers when it lists a rule, and accepts them as input. Both nft renderers (the
 * in-namespace table and the host guard) write and expect these, so their text matches what the
 * kernel's ruleset lists back. Types without a name here print as numbers.
 */
public final class IcmpNames {
    private static final Map<Integer, String> NAMES = Map.ofEntries(
            Map.entry(1, "destination-unreachable"), Map.entry(2, "packet-too-big"), Map.entry(3, "time-exceeded"),
            Map.entry(4, "parameter-problem"), Map.entry(128, "echo-request"), Map.entry(129, "echo-reply"),
            Map.entry(130, "mld-listener-query"), Map.entry(131, "mld-listener-report"),
            Map.entry(132, "mld-listener-done"), Map.entry(133, "nd-router-solicit"),
            Map.entry(134, "nd-router-advert"), Map.entry(135, "nd-neighbor-solicit"),
            Map.entry(136, "nd-neighbor-advert"), Map.entry(137, "nd-redirect"),
            Map.entry(138, "router-renumbering"), Map.entry(141, "ind-neighbor-solicit"),
            Map.entry(142, "ind-neighbor-advert"), Map.entry(143, "mld2-listener-report"));

    private static final Map<Integer, String> IPV4_NAMES = Map.of(5, "redirect");

    private IcmpNames() {}

    /** nft's name for IPv4 ICMP type {@code type} where a plan uses it, or null (nft then prints the number). */
    public static String ipv4(int type) {
        return IPV4_NAMES.get(type);
    }

    /** nft's name for ICMPv6 type {@code type}, or null when nft prints it as a number. */
    public static String name(int type) {
        return NAMES.get(type);
    }

    /** How nft prints ICMPv6 type {@code type}: its name, else the number. */
    public static String nft(int type) {
        String name = NAMES.get(type);
        return name != null ? name : Integer.toString(type);
    }
}
