package dev.netfence.event;

import com.fasterxml.jackson.databind.JsonNode;
import dev.netfence.core.ErrorCode;

/**
 * What {@link EventDecoder} made of one record value. Exactly one of: a valid event; a
 * malformed value (not JSON, wrong types, too large, bad UTF-8: DLQ only); an invalid event
 * (fails the schema or a field rule: DLQ, plus a failed outcome when its containerId can be
 * read); or an event of a type this version does not know (counted and skipped). The fifth,
 * {@code Parsed}, is only the halfway state of {@link EventDecoder#parse}.
 */
public sealed interface DecodeResult {

    /** A valid container event. */
    record Decoded(ContainerEvent event) implements DecodeResult {}

    /**
     * Not an event at all; goes to the DLQ with {@link ErrorCode#MALFORMED_EVENT}. {@code causeClass}
     * names the exception behind it (a JSON parse error, a charset error) for the DLQ's
     * {@code netfence.error.class} header, or this record's class when there was none.
     */
    record Malformed(String message, String causeClass) implements DecodeResult {
        public Malformed(String message) {
            this(message, Malformed.class.getName());
        }

        public ErrorCode code() {
            return ErrorCode.MALFORMED_EVENT;
        }
    }

    /**
     * A JSON object that fails the schema or a field rule; goes to the DLQ with
     * {@link ErrorCode#INVALID_EVENT}. The identifying fields are kept when they could be read as
     * strings (null otherwise) so a failed outcome can still be published.
     */
    record Invalid(String eventId, String nodeId, String taskId, String containerId, String message)
            implements DecodeResult {
        public ErrorCode code() {
            return ErrorCode.INVALID_EVENT;
        }
    }

    /**
     * A JSON object with the declared field types and a known (or missing) type whose schema rules
     * are not checked yet: only {@link EventDecoder#parse} returns it, and
     * {@link EventDecoder#validate} turns it into {@code Decoded} or {@code Invalid}.
     * {@code nodeId} and {@code containerId} are the readable identifiers (as {@code Invalid}
     * keeps them), enough to route the event and to queue it behind its container's others.
     */
    record Parsed(JsonNode node, String nodeId, String containerId) implements DecodeResult {}

    /** A well-formed object whose {@code type} this version does not handle. */
    record UnknownType(String type, String nodeId) implements DecodeResult {}
}
