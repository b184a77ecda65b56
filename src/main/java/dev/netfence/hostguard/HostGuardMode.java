package dev.netfence.hostguard;

import java.util.Locale;

/**
 * {@code --host-guard}: {@code auto} guards every container that has a host side and enforces
 * in-namespace only where there is none; {@code off} writes nothing for a container in the host
 * namespace and removes the chains an earlier run left in netfence's table ({@link EarlierRunChains});
 * {@code required} fails a container without a host side closed (HOST_GUARD_UNAVAILABLE).
 */
public enum HostGuardMode {
    AUTO,
    OFF,
    REQUIRED;

    /** The option's spelling. */
    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses {@code auto|off|required}; {@link IllegalArgumentException} naming the value otherwise. */
    public static HostGuardMode parse(String value) {
        for (HostGuardMode mode : values()) {
            if (mode.wire().equals(value)) {
                return mode;
            }
        }
        throw new IllegalArgumentException("host-guard must be auto, off or required, was: " + value);
    }
}
