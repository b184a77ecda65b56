package dev.netfence.policy;

import java.util.Locale;

/** Transport protocol of an allowed endpoint; {@code host:port} without a suffix means TCP. */
public enum Protocol {
    TCP,
    UDP;

    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }
}
