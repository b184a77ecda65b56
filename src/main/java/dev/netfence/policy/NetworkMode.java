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

    /** The lower-case form used in policy and outcome JSON. */
    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }
}
