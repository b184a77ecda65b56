package dev.netfence.netns;

import dev.netfence.policy.Family;

/**
 * The two iptables backends and the binaries each one uses. Rules must be written with the
 * same backend the host's own {@code iptables} uses, or the container ends up with two rule
 * sets that each see only half the picture. The wire name is what outcomes report as
 * {@code backend}. Only the legacy backend takes the xtables lock.
 */
public enum IptablesBackend {
    NFT("iptables-nft", "-nft"),
    LEGACY("iptables-legacy", "-legacy");

    private final String wire;
    private final String suffix;

    IptablesBackend(String wire, String suffix) {
        this.wire = wire;
        this.suffix = suffix;
    }

    /** {@code iptables-nft} or {@code iptables-legacy}, as in outcomes. */
    public String wire() {
        return wire;
    }

    /** e.g. {@code ip6tables-nft-restore}. */
    public String restoreBinary(Family family) {
        return prefix(family) + suffix + "-restore";
    }

    /** e.g. {@code iptables-legacy-save}. */
    public String saveBinary(Family family) {
        return prefix(family) + suffix + "-save";
    }


    private static String prefix(Family family) {
        return family == Family.IPV4 ? "iptables" : "ip6tables";
    }
}
