package dev.netfence.policy;

import com.fasterxml.jackson.databind.JsonNode;

/** Parses and validates policy v1 documents (stub; implementation follows). */
public final class PolicyParser {
    public NetworkPolicy parse(byte[] json) {
        throw new UnsupportedOperationException("not yet");
    }

    public NetworkPolicy parse(JsonNode document) {
        throw new UnsupportedOperationException("not yet");
    }
}
