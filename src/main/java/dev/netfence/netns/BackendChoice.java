package dev.netfence.netns;

import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * The {@code --backend} setting: which firewall netfence writes container rules with.
 * {@code auto} (nftables in-process when libnftables loads and the kernel accepts a transaction,
 * else nftables through the {@code nft} program, else iptables as the host's own {@code iptables}
 * uses it), {@code nft} (nftables, in-process or else through the program), {@code iptables}
 * (the host's iptables variant, see {@link BackendDetector}), or a fixed iptables variant
 * {@code iptables-nft} / {@code iptables-legacy}. The old {@code --iptables-backend} option is an
 * alias that always chose iptables: its {@code auto}, {@code nft} and {@code legacy} are
 * {@code iptables}, {@code iptables-nft} and {@code iptables-legacy} ({@link #parseIptablesAlias}).
 */
public enum BackendChoice {
    AUTO("auto", null),
    NFT("nft", null),
    IPTABLES("iptables", null),
    IPTABLES_NFT("iptables-nft", IptablesBackend.NFT),
    IPTABLES_LEGACY("iptables-legacy", IptablesBackend.LEGACY);

    private final String flag;
    private final IptablesBackend fixed;

    BackendChoice(String flag, IptablesBackend fixed) {
        this.flag = flag;
        this.fixed = fixed;
    }

    /** The fixed iptables variant, or empty when it is detected (or nftables is used). */
    public Optional<IptablesBackend> fixed() {
        return Optional.ofNullable(fixed);
    }

    /** Whether this choice may use nftables ({@code auto}, {@code nft}). */
    public boolean allowsNft() {
        return this == AUTO || this == NFT;
    }

    /** Whether this choice may fall back to iptables ({@code auto} and the iptables choices). */
    public boolean allowsIptables() {
        return this != NFT;
    }

    /** Parses a {@code --backend} value: auto, nft, iptables, iptables-nft or iptables-legacy, case-insensitively. */
    public static BackendChoice parse(String flag) {
        Objects.requireNonNull(flag, "flag");
        String v = flag.trim().toLowerCase(Locale.ROOT);
        for (BackendChoice c : values()) {
            if (c.flag.equals(v)) {
                return c;
            }
        }
        throw new IllegalArgumentException("backend must be auto, nft or iptables (or iptables-nft, iptables-legacy), was: "
                + flag);
    }

    /** Parses a value of the old {@code --iptables-backend} alias: auto, nft or legacy (all of them iptables). */
    public static BackendChoice parseIptablesAlias(String flag) {
        Objects.requireNonNull(flag, "flag");
        switch (flag.trim().toLowerCase(Locale.ROOT)) {
            case "auto":
                return IPTABLES;
            case "nft":
                return IPTABLES_NFT;
            case "legacy":
                return IPTABLES_LEGACY;
            default:
                throw new IllegalArgumentException("iptables backend must be auto, nft or legacy, was: " + flag);
        }
    }

    /** The flag form. */
    public String flag() {
        return flag;
    }
}
