package dev.netfence.event;

import com.ethlo.time.ITU;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Optional;

/**
 * Turns one record value into a {@link DecodeResult}: size limit first (1 MiB), then strict
 * UTF-8 (a malformed byte sequence is refused, never replaced), then strict JSON (no trailing
 * tokens, no duplicate keys), then the declared types of {@code container-event.v1.json}
 * (wrong type = malformed), then the event type (unknown = skipped), then the schema and field
 * rules (violation = invalid). Never throws for bad input; stateless and thread-safe.
 */
public final class EventDecoder {
    /** Values larger than this are refused without being parsed (docs/contracts.md, "Container event v1": over 1 MiB). */
    public static final int MAX_VALUE_BYTES = 1024 * 1024;

    private static final int MAX_KEPT_ID_CHARS = 256;
    /** An outcome's {@code eventId} is at most this long (outcome.v1.json), as a valid event's is. */
    private static final int MAX_KEPT_EVENT_ID_CHARS = 128;

    private final ObjectMapper mapper;
    private final DocumentSchema schema;

    public EventDecoder() {
        this(DocumentSchema.load("container-event.v1.json"));
    }

    EventDecoder(DocumentSchema schema) {
        this.schema = schema;
        JsonMapper m = JsonMapper.builder()
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
                .build();
        m.getFactory().setStreamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build());
        this.mapper = m;
    }

    /** The whole decode: {@link #parse}, then {@link #validate} when the value parsed. Never {@code Parsed}. */
    public DecodeResult decode(byte[] value) {
        DecodeResult first = parse(value);
        return first instanceof DecodeResult.Parsed parsed ? validate(parsed) : first;
    }

    /**
     * The cheap first half, for the consumer's poll thread: size, UTF-8, JSON, declared types and
     * the event type. Returns {@code Malformed}, {@code UnknownType} or {@code Parsed}; the schema
     * rules (most of the cost) are left to {@link #validate}, which may run on another thread.
     */
    public DecodeResult parse(byte[] value) {
        if (value == null) {
            return new DecodeResult.Malformed("record has no value (null)");
        }
        if (value.length > MAX_VALUE_BYTES) {
            return new DecodeResult.Malformed(
                    "value is " + value.length + " bytes, over the " + MAX_VALUE_BYTES + " byte (1 MiB) limit");
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(value))
                    .toString();
        } catch (CharacterCodingException e) {
            return new DecodeResult.Malformed("value is not valid UTF-8: " + e, e.getClass().getName());
        }
        JsonNode node;
        try {
            node = mapper.readTree(text);
        } catch (Exception e) {
            return new DecodeResult.Malformed("value is not JSON: " + firstLine(e.getMessage()), e.getClass().getName());
        }
        if (node == null || !node.isObject()) {
            return new DecodeResult.Malformed("value is not a JSON object");
        }
        Optional<String> mismatch;
        try {
            mismatch = schema.firstTypeMismatch(node);
        } catch (RuntimeException e) { // the type checks answer for any node; this keeps parse total if one does not
            return new DecodeResult.Malformed("value could not be type-checked: " + firstLine(e.getMessage()),
                    e.getClass().getName());
        }
        if (mismatch.isPresent()) {
            return new DecodeResult.Malformed(mismatch.get());
        }
        String type = text(node, "type");
        if (type != null && !ContainerEvent.known(type)) {
            return new DecodeResult.UnknownType(type, text(node, "nodeId"));
        }
        return new DecodeResult.Parsed(node, kept(node, "nodeId"), kept(node, "containerId"));
    }

    /** The second half: the schema and field rules. Returns {@code Decoded} or {@code Invalid}. */
    public DecodeResult validate(DecodeResult.Parsed parsed) {
        JsonNode node = parsed.node();
        String type = text(node, "type");
        List<String> reasons = schema.validate(node);
        if (!reasons.isEmpty()) {
            return invalid(node, String.join("; ", reasons));
        }
        Instant occurredAt;
        try {
            occurredAt = instant(text(node, "occurredAt"));
        } catch (DateTimeException e) {
            return invalid(node, "occurredAt is not an RFC 3339 date-time: " + text(node, "occurredAt"));
        }
        JsonNode pid = node.get("pid");
        return new DecodeResult.Decoded(new ContainerEvent(
                node.get("schemaVersion").intValue(),
                type,
                text(node, "eventId"),
                occurredAt,
                text(node, "nodeId"),
                text(node, "taskId"),
                text(node, "containerId"),
                text(node, "runtime"),
                pid == null ? null : pid.intValue(),
                text(node, "netns")));
    }

    /**
     * An event refused for a reason found outside its value (a record keyed for another node than
     * the one it names), with the identifying fields the value lets us read, as {@link #validate}
     * keeps them.
     */
    public DecodeResult.Invalid reject(DecodeResult.Parsed parsed, String message) {
        return invalid(parsed.node(), message);
    }

    /**
     * RFC 3339 through ITU (fast; java.time's formatter cost a quarter of the poll thread), with
     * java.time's ISO_OFFSET_DATE_TIME as the fallback for what ITU refuses but ISO accepts
     * ({@code -00:00}), so the accepted set is exactly java.time's (a property test pins this).
     */
    private static Instant instant(String text) {
        try {
            return ITU.parseDateTime(text).toInstant();
        } catch (DateTimeException e) {
            return OffsetDateTime.parse(text, DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant();
        }
    }

    private static DecodeResult.Invalid invalid(JsonNode node, String message) {
        return new DecodeResult.Invalid(kept(node, "eventId", MAX_KEPT_EVENT_ID_CHARS), kept(node, "nodeId"),
                kept(node, "taskId"), kept(node, "containerId"), message);
    }

    /** A string field worth quoting back in a failed outcome: textual, non-blank, not huge. */
    private static String kept(JsonNode node, String field) {
        return kept(node, field, MAX_KEPT_ID_CHARS);
    }

    private static String kept(JsonNode node, String field, int maxChars) {
        String s = text(node, field);
        return s == null || s.isBlank() || s.length() > maxChars ? null : s;
    }

    private static String text(JsonNode node, String field) {
        JsonNode v = node.get(field);
        return v != null && v.isTextual() ? v.asText() : null;
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "unreadable";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
