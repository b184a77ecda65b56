package dev.netfence.policy;

/** Digest of a policy's canonical form (stub). */
public final class PolicyDigest {
    private PolicyDigest() {}

    public static String of(NetworkPolicy policy) {
        throw new UnsupportedOperationException("not yet");
    }
}
