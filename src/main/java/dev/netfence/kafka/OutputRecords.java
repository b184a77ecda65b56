package dev.netfence.kafka;

import dev.netfence.core.ErrorCode;
import dev.netfence.event.EventDecoder;
import dev.netfence.event.Outcome;
import dev.netfence.event.OutcomeCodec;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * Builds the records netfence writes: outcomes (key containerId, headers {@code status},
 * {@code nodeId}, {@code eventId}) and dead letters (original key and bytes, headers
 * {@code netfence.original.topic|partition|offset|timestamp}, {@code netfence.error.code|message|class},
 * {@code netfence.instance}), as docs/contracts.md fixes them. Thread-safe.
 */
final class OutputRecords {
    static final String ORIGINAL_TOPIC = "netfence.original.topic";
    static final String ORIGINAL_PARTITION = "netfence.original.partition";
    static final String ORIGINAL_OFFSET = "netfence.original.offset";
    static final String ORIGINAL_TIMESTAMP = "netfence.original.timestamp";
    static final String ERROR_CODE = "netfence.error.code";
    static final String ERROR_MESSAGE = "netfence.error.message";
    static final String ERROR_CLASS = "netfence.error.class";
    static final String INSTANCE = "netfence.instance";
    /** Set on a dead letter whose original value was too large for the DLQ topic and was dropped. */
    static final String ORIGINAL_SIZE = "netfence.original.size";
    /** The DLQ error code of an event whose outcome the outcomes topic refused for good. */
    static final String OUTCOME_REJECTED = "OUTCOME_REJECTED";
    /** The headers netfence writes on a dead letter; a copied original's own are dropped. */
    private static final Set<String> PROVENANCE = Set.of(ORIGINAL_TOPIC, ORIGINAL_PARTITION, ORIGINAL_OFFSET,
            ORIGINAL_TIMESTAMP, ORIGINAL_SIZE, ERROR_CODE, ERROR_MESSAGE, ERROR_CLASS, INSTANCE);

    private static final int MAX_MESSAGE_CHARS = 2000;

    private final OutcomeCodec codec;
    private final String outcomesTopic;
    private final String dlqTopic;
    private final String instance;
    private final String nodeId;

    OutputRecords(OutcomeCodec codec, String outcomesTopic, String dlqTopic, String instance, String nodeId) {
        this.codec = codec;
        this.outcomesTopic = outcomesTopic;
        this.dlqTopic = dlqTopic;
        this.instance = instance;
        this.nodeId = nodeId;
    }

    ProducerRecord<byte[], byte[]> outcome(Outcome o) {
        ProducerRecord<byte[], byte[]> r =
                new ProducerRecord<>(outcomesTopic, utf8(o.containerId()), codec.encode(o));
        add(r.headers(), "status", o.status());
        add(r.headers(), "nodeId", o.nodeId() != null ? o.nodeId() : nodeId);
        if (o.eventId() != null) {
            add(r.headers(), "eventId", o.eventId());
        }
        return r;
    }

    ProducerRecord<byte[], byte[]> deadLetter(ConsumerRecord<byte[], byte[]> original, ErrorCode code, String message,
                                              String errorClass) {
        return deadLetter(original, code.code(), message, errorClass);
    }

    /**
     * The dead letter of {@code original}: its key and value, its own headers (all but an earlier
     * dead letter's provenance, so a replayed dead letter does not carry two sets), then the
     * provenance headers of this failure. Spring Kafka's DeadLetterPublishingRecoverer does the same.
     */
    ProducerRecord<byte[], byte[]> deadLetter(ConsumerRecord<byte[], byte[]> original, String code, String message,
                                              String errorClass) {
        ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(dlqTopic, null, original.key(), original.value());
        Headers h = r.headers();
        for (Header header : original.headers()) {
            if (!PROVENANCE.contains(header.key())) {
                h.add(header);
            }
        }
        add(h, ORIGINAL_TOPIC, original.topic());
        add(h, ORIGINAL_PARTITION, Integer.toString(original.partition()));
        add(h, ORIGINAL_OFFSET, Long.toString(original.offset()));
        add(h, ORIGINAL_TIMESTAMP, Long.toString(original.timestamp()));
        add(h, ERROR_CODE, code);
        String m = Objects.requireNonNullElse(message, "");
        add(h, ERROR_MESSAGE, m.length() > MAX_MESSAGE_CHARS ? m.substring(0, MAX_MESSAGE_CHARS) + "..." : m);
        add(h, ERROR_CLASS, errorClass);
        add(h, INSTANCE, instance);
        return original.value() != null && original.value().length > EventDecoder.MAX_VALUE_BYTES ? withoutValue(r) : r;
    }

    /**
     * What to send instead of an output the broker refused for good ({@link SendErrors#refusesRecord}):
     * a dead letter with a value goes again without it; an outcome is replaced by its event's dead
     * letter with code {@value #OUTCOME_REJECTED} (the enforcement happened, but the outcomes topic
     * will not take its report); a dead letter without its value that is still too large goes
     * again with its provenance headers only (the original's own headers, which a producer may make
     * as large as the events topic allows, dropped; the key too when over {@value #MAX_BARE_KEY_BYTES}
     * bytes). Empty when nothing smaller is left to try: the caller holds the record.
     */
    Optional<Output> replacement(Output refused, Throwable error) {
        ProducerRecord<byte[], byte[]> r = refused.record();
        Throwable root = SendErrors.rootOf(error);
        if (refused.outcome() != null && refused.source() != null) {
            String message = "the " + refused.outcome().status() + " outcome of event " + refused.outcome().eventId()
                    + " (container " + refused.outcome().containerId() + ") was refused by " + r.topic() + ": " + root;
            return Optional.of(Output.deadLetter(
                    deadLetter(refused.source(), OUTCOME_REJECTED, message, root.getClass().getName()), OUTCOME_REJECTED));
        }
        if (refused.outcome() == null && SendErrors.classify(error) == SendErrors.Kind.TOO_LARGE) {
            if (r.value() != null) {
                return Optional.of(refused.withRecord(withoutValue(r)));
            }
            ProducerRecord<byte[], byte[]> bare = bare(r);
            if (bare != null) {
                return Optional.of(refused.withRecord(bare));
            }
        }
        return Optional.empty();
    }

    /** A key longer than this is dropped from a bare dead letter ({@link #replacement}). */
    static final int MAX_BARE_KEY_BYTES = 1024;

    /** The dead letter without value with only its provenance headers; null when it is that already. */
    private static ProducerRecord<byte[], byte[]> bare(ProducerRecord<byte[], byte[]> deadLetter) {
        byte[] key = deadLetter.key() != null && deadLetter.key().length > MAX_BARE_KEY_BYTES ? null : deadLetter.key();
        ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(deadLetter.topic(), null, key, null);
        for (Header header : deadLetter.headers()) {
            if (PROVENANCE.contains(header.key())) {
                r.headers().add(header);
            }
        }
        boolean smaller = key != deadLetter.key() || r.headers().toArray().length < deadLetter.headers().toArray().length;
        return smaller ? r : null;
    }

    /**
     * The same dead letter without its value, for an original too large for the DLQ topic (every
     * value over the 1 MiB event limit, and any value the broker refused as too large).
     */
    static ProducerRecord<byte[], byte[]> withoutValue(ProducerRecord<byte[], byte[]> deadLetter) {
        ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(deadLetter.topic(), null, deadLetter.key(), null);
        deadLetter.headers().forEach(r.headers()::add);
        add(r.headers(), ORIGINAL_SIZE, Integer.toString(deadLetter.value() == null ? 0 : deadLetter.value().length));
        return r;
    }

    boolean isDeadLetter(ProducerRecord<byte[], byte[]> r) {
        return dlqTopic.equals(r.topic());
    }

    static String header(ProducerRecord<byte[], byte[]> r, String name) {
        var h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    private static void add(Headers h, String name, String value) {
        h.add(name, utf8(value));
    }

    private static byte[] utf8(String s) {
        return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
    }
}
