package dev.netfence.policy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.netfence.json.SchemaValidator;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Turns a policy v1 document into a validated {@link NetworkPolicy}, or a
 * {@link PolicyValidationException} listing every problem. First the JSON Schema
 * ({@code schemas/policy.v1.json}) checks the shape; then each endpoint and subnet is parsed
 * strictly ({@link PolicyValues}), and each trusted resolver in {@code dnsServers} (an address
 * literal, never a hostname); then presets are expanded and omitted flags are derived as the
 * seed's {@code NetworkPolicyFromSandbox} does (mode none by default, empty blockedSubnets means
 * the default list, dns and outbound on only when mode is not none and endpoints are listed,
 * inbound off). Explicit flags override the derivation, except that mode none cannot be given
 * a flag that opens the network. Thread-safe; build once and share.
 */
public final class PolicyParser {
    /** Most characters of a document accepted; larger ones are refused before parsing. */
    public static final int MAX_DOCUMENT_BYTES = 1 << 20;

    private static final String HOST_MODE = "mode: host network mode is not allowed for security reasons";
    /**
     * Trailing tokens and a field named twice are refused (as in container events): with the
     * default last-one-wins, {@code "outbound":false, ..., "outbound":true} read as open while its
     * reader saw a closed policy.
     */
    private static final ObjectMapper MAPPER = com.fasterxml.jackson.databind.json.JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION).build();

    private static final java.util.regex.Pattern PRESET_FIELD =
            java.util.regex.Pattern.compile("\\$: property '([A-Za-z]+)' name is not valid: .*");

    private final SchemaValidator schema;

    public PolicyParser() {
        this(new SchemaValidator("policy.v1.json"));
    }

    PolicyParser(SchemaValidator schema) {
        this.schema = Objects.requireNonNull(schema, "schema");
    }

    /** Parses UTF-8 JSON bytes; malformed JSON is a validation failure too. */
    public NetworkPolicy parse(byte[] json) {
        Objects.requireNonNull(json, "json");
        if (json.length > MAX_DOCUMENT_BYTES) {
            throw new PolicyValidationException(List.of(
                    "policy document is " + json.length + " bytes (at most " + MAX_DOCUMENT_BYTES + ")"));
        }
        JsonNode node;
        try {
            node = MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new PolicyValidationException(List.of("policy is not valid JSON: " + e.getOriginalMessage()));
        } catch (IOException e) {
            throw new PolicyValidationException(List.of("policy cannot be read: " + e.getMessage()));
        }
        if (node == null || node.isMissingNode()) {
            throw new PolicyValidationException(List.of("policy document is empty"));
        }
        return parse(node);
    }

    /** The note of a document whose endpoints turned {@code outbound} on without its saying so ({@link #notes}). */
    public static final String DERIVED_OUTBOUND_NOTE = "outbound: not written, and on because allowedEndpoints are"
            + " listed (the seed's rule): every destination outside blockedSubnets (and the cloud metadata ranges) is"
            + " reachable, not only the endpoints; write \"outbound\": false to allow the endpoints alone, or"
            + " \"outbound\": true to say this is meant";

    /**
     * What a valid document leaves implicit that its author may not mean, for the CLI to show
     * ({@code netfence plan}, {@code netfence policy put}); empty for an invalid document. Not in
     * outcomes: a document relying on it on purpose would carry it in every one. Today one note:
     * {@code outbound} derived on from listed endpoints ({@link #DERIVED_OUTBOUND_NOTE}).
     */
    public List<String> notes(byte[] json) {
        JsonNode document;
        NetworkPolicy policy;
        try {
            document = MAPPER.readTree(json);
            policy = parse(json);
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
        // with both families blocked whole (a /0 each, written or completed) only the endpoints are
        // reachable anyway, outbound or not
        boolean bothWhole = Cidr.coverFamily(policy.blockedSubnets(), Family.IPV4)
                && Cidr.coverFamily(policy.blockedSubnets(), Family.IPV6);
        boolean derivedOutbound = !document.has("preset") && policy.mode() != NetworkMode.NONE
                && !policy.allowedEndpoints().isEmpty() && !document.has("outbound") && !bothWhole;
        return derivedOutbound ? List.of(DERIVED_OUTBOUND_NOTE) : List.of();
    }

    /** Validates and converts an already parsed document. */
    public NetworkPolicy parse(JsonNode document) {
        Objects.requireNonNull(document, "document");
        List<String> reasons = schemaReasons(document);
        if (!reasons.isEmpty()) {
            throw new PolicyValidationException(reasons);
        }
        List<Endpoint> endpoints = new ArrayList<>();
        List<Cidr> subnets = new ArrayList<>();
        JsonNode eps = document.path("allowedEndpoints");
        for (int i = 0; i < eps.size(); i++) {
            PolicyValues.Parsed<Endpoint> p = PolicyValues.endpoint(eps.get(i).asText());
            if (p.ok()) {
                endpoints.add(p.value());
            } else {
                reasons.add("allowedEndpoints[" + i + "]: " + p.error());
            }
        }
        JsonNode nets = document.path("blockedSubnets");
        for (int i = 0; i < nets.size(); i++) {
            PolicyValues.Parsed<Cidr> p = PolicyValues.cidr(nets.get(i).asText());
            if (p.ok()) {
                subnets.add(p.value());
            } else {
                reasons.add("blockedSubnets[" + i + "]: " + p.error());
            }
        }
        List<java.net.InetAddress> dnsServers = new ArrayList<>();
        JsonNode resolvers = document.path("dnsServers");
        for (int i = 0; i < resolvers.size(); i++) {
            PolicyValues.Parsed<java.net.InetAddress> p = PolicyValues.dnsServer(resolvers.get(i).asText());
            if (p.ok()) {
                if (!dnsServers.contains(p.value())) {
                    dnsServers.add(p.value());
                }
            } else {
                reasons.add("dnsServers[" + i + "]: " + p.error());
            }
        }
        String preset = document.path("preset").asText(null);
        NetworkMode mode = NetworkMode.valueOf(document.path("mode").asText("none").toUpperCase(java.util.Locale.ROOT));
        if (preset == null && mode == NetworkMode.NONE) {
            for (String flag : List.of("dns", "outbound", "inbound")) {
                if (document.path(flag).asBoolean(false)) {
                    reasons.add(flag + ": true is not allowed with mode \"none\" (mode none permits no network"
                            + " but loopback; use mode bridge or container)");
                }
            }
        }
        if (!reasons.isEmpty()) {
            throw new PolicyValidationException(reasons);
        }
        if ("default".equals(preset)) {
            return Presets.defaultPolicy();
        }
        if ("hipaa".equals(preset)) {
            return Presets.hipaa(endpoints, dnsServers);
        }
        return fromSandbox(mode, endpoints, subnets, dnsServers, document);
    }

    /** The seed's {@code NetworkPolicyFromSandbox}, with explicit flags taking precedence. */
    private static NetworkPolicy fromSandbox(
            NetworkMode mode, List<Endpoint> endpoints, List<Cidr> subnets, List<java.net.InetAddress> dnsServers,
            JsonNode document) {
        List<Cidr> blocked = Presets.blockedSubnetsFor(subnets);
        boolean derived = mode != NetworkMode.NONE && !endpoints.isEmpty();
        boolean dns = flag(document, "dns", derived);
        boolean outbound = flag(document, "outbound", derived);
        boolean inbound = flag(document, "inbound", false);
        return new NetworkPolicy(mode, endpoints, blocked, dns, outbound, inbound, dnsServers);
    }

    private static boolean flag(JsonNode document, String name, boolean derived) {
        JsonNode v = document.get(name);
        return v == null || v.isNull() ? derived : v.asBoolean();
    }

    /** Schema violations with the JSON path's "$." dropped, host mode explained. */
    private List<String> schemaReasons(JsonNode document) {
        List<String> reasons = new ArrayList<>();
        boolean hostMode = document.isObject() && "host".equals(document.path("mode").asText(null));
        if (hostMode) {
            reasons.add(HOST_MODE);
        }
        for (String message : schema.validate(document)) {
            if (hostMode && message.startsWith("$.mode:")) {
                continue;
            }
            java.util.regex.Matcher m = PRESET_FIELD.matcher(message);
            if (m.matches() && document.has("preset")) {
                String preset = document.path("preset").asText();
                reasons.add(m.group(1) + ": not allowed with preset \"" + preset + "\" (it takes "
                        + ("hipaa".equals(preset) ? "only allowedEndpoints and dnsServers" : "no other fields") + ")");
            } else if (message.startsWith("$.")) {
                reasons.add(message.substring(2));
            } else if (message.startsWith("$: ")) {
                reasons.add("policy: " + message.substring(3));
            } else {
                reasons.add(message);
            }
        }
        return reasons;
    }
}
