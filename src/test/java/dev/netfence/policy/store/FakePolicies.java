package dev.netfence.policy.store;

import dev.netfence.policy.NetworkMode;
import dev.netfence.policy.NetworkPolicy;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A stand-in policy decoder for store and pipeline tests that must not depend on the real parser:
 * {@code {"outbound":true}} and {@code {"outbound":false}} decode to two distinguishable valid
 * policies, anything mentioning {@code "host"} is invalid.
 */
public final class FakePolicies {
    public static final NetworkPolicy OPEN = new NetworkPolicy(NetworkMode.BRIDGE, List.of(), List.of(), true, true, false);
    public static final NetworkPolicy CLOSED = new NetworkPolicy(NetworkMode.BRIDGE, List.of(), List.of(), true, false, false);
    public static final byte[] OPEN_JSON = "{\"schemaVersion\":1,\"outbound\":true}".getBytes(StandardCharsets.UTF_8);
    public static final byte[] CLOSED_JSON = "{\"schemaVersion\":1,\"outbound\":false}".getBytes(StandardCharsets.UTF_8);
    public static final byte[] HOST_JSON = "{\"schemaVersion\":1,\"mode\":\"host\"}".getBytes(StandardCharsets.UTF_8);

    public static final PolicyDecoder DECODER = bytes -> {
        String s = new String(bytes, StandardCharsets.UTF_8);
        if (s.contains("\"host\"")) {
            return new StoredPolicy.Invalid(List.of("mode host is refused"));
        }
        return new StoredPolicy.Valid(s.contains("\"outbound\":true") ? OPEN : CLOSED);
    };

    private FakePolicies() {}
}
