package dev.netfence.policy.store;

/**
 * Turns the stored bytes of one policy document into a {@link StoredPolicy}. The production
 * decoder wraps the policy parser (schema + semantic validation); tests may pass their own.
 * Must not throw for a bad document: that is what {@link StoredPolicy.Invalid} is for.
 */
@FunctionalInterface
public interface PolicyDecoder {
    StoredPolicy decode(byte[] json);
}
