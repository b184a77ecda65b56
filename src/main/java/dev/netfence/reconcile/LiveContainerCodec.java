package dev.netfence.reconcile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.netfence.netns.NamespaceId;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The value of an enforcements-topic record ({@code schemas/enforcement.v1.json}): one
 * {@link LiveContainer} as JSON. Decoding refuses anything that is not a complete v1 document
 * with an {@link IllegalArgumentException}, so a damaged record is skipped, never half-used.
 * Thread-safe.
 */
public final class LiveContainerCodec {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    public byte[] encode(LiveContainer c) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("schemaVersion", 1);
        n.put("containerId", c.containerId());
        n.put("taskId", c.taskId());
        n.put("nodeId", c.nodeId());
        n.put("runtime", c.runtime());
        n.put("pid", c.pid());
        ObjectNode ns = n.putObject("netns");
        ns.put("device", c.netns().device());
        ns.put("inode", c.netns().inode());
        n.put("netnsPath", c.netnsPath());
        n.put("policyDigest", c.policyDigest());
        n.put("errorCode", c.errorCode());
        n.put("quarantined", c.quarantined());
        n.put("backend", c.backend());
        ObjectNode resolved = n.putObject("resolved");
        c.resolved().forEach((host, addresses) -> {
            ArrayNode a = resolved.putArray(host);
            addresses.forEach(a::add);
        });
        n.put("updatedAt", c.lastVerified().toString());
        if (c.startedAt() != null) {
            n.put("startedAt", c.startedAt().toString());
        }
        if (c.reported() != null) {
            ObjectNode reported = n.putObject("reported");
            if (c.reported().risks() != null) {
                c.reported().risks().forEach(reported.putArray("risks")::add);
            }
            c.reported().guards().forEach(reported.putArray("guards")::add);
            if (c.reported().warnings() != null) {
                c.reported().warnings().forEach(reported.putArray("warnings")::add);
            }
        }
        if (c.outcomeUnacknowledged()) {
            n.put("outcomeUnacknowledged", true); // absent: every outcome acknowledged, as in entries of older versions
        }
        try {
            return MAPPER.writeValueAsBytes(n);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public LiveContainer decode(byte[] value) {
        JsonNode n;
        try {
            n = MAPPER.readTree(value);
        } catch (IOException e) {
            throw new IllegalArgumentException("not JSON: " + e.getMessage(), e);
        }
        if (n == null || !n.isObject() || n.path("schemaVersion").asInt() != 1) {
            throw new IllegalArgumentException("not an enforcement v1 document");
        }
        JsonNode ns = n.path("netns");
        if (!ns.path("device").isIntegralNumber() || !ns.path("inode").isIntegralNumber()
                || !n.path("pid").isIntegralNumber() || !n.path("containerId").isTextual()) {
            throw new IllegalArgumentException("enforcement document lacks containerId, pid or netns");
        }
        Map<String, List<String>> resolved = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> it = n.path("resolved").fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            List<String> addresses = new ArrayList<>();
            e.getValue().forEach(a -> addresses.add(a.asText()));
            resolved.put(e.getKey(), addresses);
        }
        Instant updated = instant(n, "updatedAt");
        Instant started = n.hasNonNull("startedAt") ? instant(n, "startedAt") : null;
        return new LiveContainer(n.get("containerId").asText(), text(n, "taskId"), text(n, "nodeId"),
                text(n, "runtime"), n.get("pid").asInt(),
                new NamespaceId(ns.get("device").asLong(), ns.get("inode").asLong()), text(n, "netnsPath"),
                text(n, "policyDigest"),
                text(n, "errorCode"), n.path("quarantined").asBoolean(), text(n, "backend"), resolved, updated,
                started, reported(n.get("reported"), n.path("quarantined").asBoolean()),
                n.path("outcomeUnacknowledged").asBoolean(false));
    }

    /**
     * The entry's {@code reported}; null when absent (an entry of an older version, or a policy not
     * in force) or damaged (not guards and, but for a quarantined entry's, risks, each an array of strings, guards netns or host;
     * warnings, where present, not an array of strings):
     * it only says what an outcome said, so the entry is kept, as one that recorded nothing.
     */
    private static LiveContainer.Reported reported(JsonNode r, boolean quarantined) {
        if (r == null || !r.isObject()) {
            return null;
        }
        List<String> risks = r.has("risks") ? strings(r.get("risks")) : null;
        List<String> guards = strings(r.get("guards"));
        List<String> warnings = r.has("warnings") ? strings(r.get("warnings")) : null; // absent: an older version's
        if ((r.has("risks") || !quarantined) && risks == null || guards == null || !GUARDS.containsAll(guards)
                || r.has("warnings") && warnings == null) {
            return null;
        }
        return new LiveContainer.Reported(risks, guards, warnings);
    }

    private static final java.util.Set<String> GUARDS = java.util.Set.of("netns", "host");

    /** The strings of {@code array}; null when it is not an array of strings. */
    private static List<String> strings(JsonNode array) {
        if (array == null || !array.isArray()) {
            return null;
        }
        List<String> out = new ArrayList<>();
        for (JsonNode v : array) {
            if (!v.isTextual()) {
                return null;
            }
            out.add(v.asText());
        }
        return out;
    }

    private static Instant instant(JsonNode n, String field) {
        try {
            return Instant.parse(n.path(field).asText());
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(field + " is not an instant: " + n.path(field), e);
        }
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }
}
