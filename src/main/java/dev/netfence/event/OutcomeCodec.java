package dev.netfence.event;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * JSON form of {@link Outcome}: UTF-8 bytes with instants as ISO-8601 UTC with milliseconds
 * ({@code 2026-11-28T15:00:00.123Z}), every field present (nulls written), unknown fields
 * tolerated when reading so readers survive additive changes. Thread-safe.
 */
public final class OutcomeCodec {
    /** The instant format of every netfence document: UTC, millisecond precision. */
    public static final DateTimeFormatter INSTANT_FORMAT =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    private final ObjectMapper mapper;
    private final OutcomeWriter writer;

    public OutcomeCodec() {
        SimpleModule instants = new SimpleModule("netfence-instants")
                .addSerializer(Instant.class, new JsonSerializer<>() {
                    @Override
                    public void serialize(Instant value, JsonGenerator gen, SerializerProvider p) throws IOException {
                        gen.writeString(INSTANT_FORMAT.format(value));
                    }
                })
                .addDeserializer(Instant.class, new JsonDeserializer<>() {
                    @Override
                    public Instant deserialize(JsonParser p, DeserializationContext ctx) throws IOException {
                        return DateTimeFormatter.ISO_OFFSET_DATE_TIME.parse(p.getValueAsString(), Instant::from);
                    }
                });
        this.mapper = JsonMapper.builder()
                .addModule(instants)
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                // bytes after the object are no outcome's: `netfence outcomes --json` prints a record as read
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .build();
        this.writer = new OutcomeWriter(mapper.getFactory());
    }

    public byte[] encode(Outcome outcome) {
        return writer.write(outcome, false);
    }

    /** The same document indented for people ({@code netfence apply} prints it). */
    public byte[] encodePretty(Outcome outcome) {
        return writer.write(outcome, true);
    }

    /** The same document through Jackson's record serializer (reflection); what {@link #encode} must equal. */
    byte[] encodeByReflection(Outcome outcome) {
        try {
            return mapper.writeValueAsBytes(outcome);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode outcome", e);
        }
    }

    /** Reads an outcome; throws {@link IllegalArgumentException} when the bytes are not one. */
    public Outcome decode(byte[] json) {
        try {
            return mapper.readValue(json, Outcome.class);
        } catch (IOException e) {
            throw new IllegalArgumentException("not an outcome v1 document: " + e.getMessage(), e);
        }
    }
}
