package dev.netfence.netns;

import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * The {@code --iptables-backend} setting: {@code auto} (use what the host's own iptables uses,
 * see {@link BackendDetector}) or a fixed {@code nft} / {@code legacy}.
 */
public enum BackendChoice {
    AUTO(null),
    NFT(IptablesBackend.NFT),
    LEGACY(IptablesBackend.LEGACY);

    private final IptablesBackend fixed;

    BackendChoice(IptablesBackend fixed) {
        this.fixed = fixed;
    }

    /** The fixed backend, or empty for auto. */
    public Optional<IptablesBackend> fixed() {
        return Optional.ofNullable(fixed);
    }

    /** Parses {@code auto}, {@code nft} or {@code legacy}, case-insensitively. */
    public static BackendChoice parse(String flag) {
        Objects.requireNonNull(flag, "flag");
        switch (flag.trim().toLowerCase(Locale.ROOT)) {
            case "auto":
                return AUTO;
            case "nft":
                return NFT;
            case "legacy":
                return LEGACY;
            default:
                throw new IllegalArgumentException("iptables backend must be auto, nft or legacy, was: " + flag);
        }
    }

    /** The flag form: auto, nft, legacy. */
    public String flag() {
        return name().toLowerCase(Locale.ROOT);
    }
}
