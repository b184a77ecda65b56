package dev.netfence.enforce;

import java.util.Locale;
import java.util.Objects;

/**
 * What the enforcer does to a container whose policy could not be applied in full:
 * {@code quarantine} (deny everything but loopback, both families: fail closed) or {@code leave}
 * (touch nothing more). A failure after one family was already changed is quarantined either
 * way, because leaving a half-applied policy is worse than both.
 */
public enum OnFailure {
    QUARANTINE,
    LEAVE;

    /** Parses the {@code --on-failure} flag. */
    public static OnFailure parse(String flag) {
        Objects.requireNonNull(flag, "flag");
        switch (flag.trim().toLowerCase(Locale.ROOT)) {
            case "quarantine":
                return QUARANTINE;
            case "leave":
                return LEAVE;
            default:
                throw new IllegalArgumentException("on-failure must be quarantine or leave, was: " + flag);
        }
    }

    public String flag() {
        return name().toLowerCase(Locale.ROOT);
    }
}
