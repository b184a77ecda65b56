package dev.netfence.policy;

import java.util.Locale;

/**
 * The sandbox network modes netfence enforces. {@code host} exists in the seed but is refused at
 * validation, so it has no constant here: a policy object can never carry it.
 */
public enum NetworkMode {
    NONE,
    BRIDGE,
    CONTAINER;

    private final String wire = name().toLowerCase(Locale.ROOT);

    /** The lower-case form used in policy and outcome JSON. */
    public String wire() {
        return wire;
    }
}
