package dev.netfence.policy;

import java.util.List;

/** The seed's named policies (stub). */
public final class Presets {
    private Presets() {}

    public static NetworkPolicy defaultPolicy() {
        throw new UnsupportedOperationException("not yet");
    }

    public static NetworkPolicy hipaa(List<Endpoint> allowlist) {
        throw new UnsupportedOperationException("not yet");
    }

    public static List<Cidr> defaultBlockedSubnets() {
        throw new UnsupportedOperationException("not yet");
    }
}
