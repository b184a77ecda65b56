package dev.netfence.policy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The identity of a policy for outcomes: {@code sha256:<hex>} of a canonical JSON form built from
 * the validated {@link NetworkPolicy} (fixed field order, canonical addresses, every flag
 * resolved). Because it digests the parsed policy rather than the input bytes, field order,
 * whitespace, spelling of equal addresses and preset-versus-explicit do not change it.
 */
public final class PolicyDigest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private PolicyDigest() {}

    /** {@code sha256:} followed by 64 lower-case hex digits. */
    public static String of(NetworkPolicy policy) {
        return "sha256:" + sha256Hex(canonicalJson(policy));
    }

    /** The canonical form that {@link #of} digests. */
    public static String canonicalJson(NetworkPolicy policy) {
        ObjectNode node = MAPPER.createObjectNode();
        node.put("mode", policy.mode().wire());
        ArrayNode endpoints = node.putArray("allowedEndpoints");
        policy.allowedEndpoints().forEach(e -> endpoints.add(
                (e.family() == Family.IPV6 ? "[" + e.host() + "]" : e.host()) + ":" + e.port() + "/" + e.protocol().wire()));
        ArrayNode subnets = node.putArray("blockedSubnets");
        policy.blockedSubnets().forEach(c -> subnets.add(c.toString()));
        if (!policy.dnsServers().isEmpty()) { // only when present, so older policies keep their digest
            ArrayNode resolvers = node.putArray("dnsServers");
            policy.dnsServers().forEach(a -> resolvers.add(IpAddresses.format(a)));
        }
        node.put("dns", policy.dns());
        node.put("outbound", policy.outbound());
        node.put("inbound", policy.inbound());
        return node.toString();
    }

    /** Lower-case hex SHA-256 of the UTF-8 bytes of {@code text}. */
    public static String sha256Hex(String text) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            return HexFormat.of().formatHex(md.digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JVM", e);
        }
    }
}
