package dev.netfence.event;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class EventDecoderTest {
    private final EventDecoder decoder = new EventDecoder();

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] example(String name) throws IOException {
        return Files.readAllBytes(Path.of("schemas", "examples", name));
    }

    @Test
    void aFullEventDecodesIntoEveryField() throws IOException {
        DecodeResult r = decoder.decode(example("event-valid-full.json"));
        assertThat(r).isInstanceOf(DecodeResult.Decoded.class);
        ContainerEvent e = ((DecodeResult.Decoded) r).event();
        assertThat(e).isEqualTo(new ContainerEvent(1, "container.started", "7d0c1c52-5a3e-4c59-9d0e-0f2b7f6a1c11",
                Instant.parse("2026-11-28T15:00:00.123Z"), "worker-7", "task-42", "3f9a0c2d8e1b", "podman", 12345));
    }

    @Test
    void unknownExtraFieldsAndOffsetsAreAccepted() throws IOException {
        DecodeResult r = decoder.decode(example("event-valid-extra-fields.json"));
        assertThat(((DecodeResult.Decoded) r).event().occurredAt()).isEqualTo(Instant.parse("2026-11-28T15:00:00.5Z"));
        assertThat(((DecodeResult.Decoded) r).event().pid()).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "not json", "{\"a\":1} trailing", "[1,2]", "\"a string\"", "{\"a\":1,\"a\":2}", "null"})
    void somethingThatIsNotAJsonObjectIsMalformed(String value) {
        assertThat(decoder.decode(utf8(value))).isInstanceOf(DecodeResult.Malformed.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {"containerId", "netns", "nodeId", "taskId"})
    void aPatternFieldWithATrailingNewlineIsInvalid(String field) {
        String good = switch (field) {
            case "containerId" -> "abcdef123456";
            case "netns" -> "/run/netns/x";
            case "taskId" -> "t";
            default -> "n1";
        };
        String event = valid("abcdef123456", "\"netns\":\"/run/netns/x\"");
        assertThat(decoder.decode(utf8(event))).as("the same event without the newline").isInstanceOf(DecodeResult.Decoded.class);

        DecodeResult r = decoder.decode(utf8(event.replace("\"" + field + "\":\"" + good + "\"",
                "\"" + field + "\":\"" + good + "\\n\"")));

        assertThat(r).as("%s with a trailing newline", field).isInstanceOf(DecodeResult.Invalid.class);
    }

    @Test
    void aNullValueIsMalformed() {
        assertThat(decoder.decode(null)).isInstanceOf(DecodeResult.Malformed.class);
    }

    @Test
    void invalidUtf8IsMalformedEvenInsideAString() {
        byte[] good = utf8("{\"schemaVersion\":1,\"type\":\"container.started\",\"eventId\":\"XX\"}");
        int i = new String(good, StandardCharsets.UTF_8).indexOf("XX");
        good[i] = (byte) 0xC3;
        good[i + 1] = (byte) 0x28;
        DecodeResult r = decoder.decode(good);
        assertThat(r).isInstanceOf(DecodeResult.Malformed.class);
        assertThat(((DecodeResult.Malformed) r).message()).contains("UTF-8");
    }

    @Test
    void aValueOverOneMebibyteIsMalformedWithoutParsing() {
        String padding = "x".repeat(EventDecoder.MAX_VALUE_BYTES);
        DecodeResult r = decoder.decode(utf8(valid("c1", "\"pad\":\"" + padding + "\"")));
        assertThat(r).isInstanceOf(DecodeResult.Malformed.class);
        assertThat(((DecodeResult.Malformed) r).message()).contains("1 MiB");
    }

    @Test
    void aValueJustUnderTheLimitIsAccepted() {
        String base = valid("c1", "\"pad\":\"\"");
        String padding = "x".repeat(EventDecoder.MAX_VALUE_BYTES - base.length());
        byte[] value = utf8(valid("c1", "\"pad\":\"" + padding + "\""));
        assertThat(value).hasSize(EventDecoder.MAX_VALUE_BYTES);
        assertThat(decoder.decode(value)).isInstanceOf(DecodeResult.Decoded.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {"\"pid\":\"123\"", "\"pid\":12.5", "\"runtime\":7", "\"extra\":1,\"containerId\":5",
        // beyond a double's range: read as infinity, which has no decimal value (this threw on the poll thread)
        "\"pid\":1e400", "\"pid\":-1E309"})
    void aKnownFieldOfTheWrongTypeIsMalformed(String field) {
        String v = "{\"schemaVersion\":1,\"type\":\"container.started\",\"eventId\":\"e\","
                + "\"occurredAt\":\"2026-11-28T15:00:00Z\",\"nodeId\":\"n1\",\"taskId\":\"t\"," + field
                + (field.contains("containerId") ? "}" : ",\"containerId\":\"c\"}");
        DecodeResult r = decoder.decode(utf8(v));
        assertThat(r).isInstanceOf(DecodeResult.Malformed.class);
        assertThat(((DecodeResult.Malformed) r).message()).startsWith("field '");
    }

    @Test
    void aHugeWholeNumberWithinADoublesRangeFailsTheSchemaInsteadOfThrowing() {
        assertThat(decoder.decode(utf8(valid("c1", "\"pid\":1e300")))).isInstanceOf(DecodeResult.Invalid.class);
    }

    @Test
    void aWholeNumberWrittenAsDecimalIsStillAnInteger() {
        assertThat(decoder.decode(utf8(valid("c1", "\"pid\":123.0")))).isInstanceOf(DecodeResult.Decoded.class);
    }

    @Test
    void anUnknownTypeIsReportedAsSuchWithItsNode() {
        DecodeResult r = decoder.decode(utf8("{\"schemaVersion\":1,\"type\":\"container.paused\",\"nodeId\":\"n9\"}"));
        assertThat(r).isEqualTo(new DecodeResult.UnknownType("container.paused", "n9"));
    }

    @Test
    void aSchemaViolationIsInvalidAndKeepsTheReadableIdentifiers() throws IOException {
        DecodeResult r = decoder.decode(example("event-invalid-pid-one.json"));
        assertThat(r).isInstanceOf(DecodeResult.Invalid.class);
        DecodeResult.Invalid inv = (DecodeResult.Invalid) r;
        assertThat(inv.containerId()).isEqualTo("abc");
        assertThat(inv.eventId()).isEqualTo("e-4");
        assertThat(inv.nodeId()).isEqualTo("worker-7");
        assertThat(inv.message()).contains("pid");
    }

    @Test
    void parsingLeavesTheSchemaRulesToValidateAndKeepsWhatRoutesTheEvent() throws IOException {
        DecodeResult first = decoder.parse(example("event-invalid-pid-one.json"));
        assertThat(first).isInstanceOf(DecodeResult.Parsed.class);
        DecodeResult.Parsed parsed = (DecodeResult.Parsed) first;
        assertThat(parsed.nodeId()).isEqualTo("worker-7");
        assertThat(parsed.containerId()).isEqualTo("abc");

        assertThat(decoder.validate(parsed)).isEqualTo(decoder.decode(example("event-invalid-pid-one.json")))
                .isInstanceOf(DecodeResult.Invalid.class);
    }

    @Test
    void malformedAndUnknownRecordsAreFinishedByParsingAlone() throws IOException {
        assertThat(decoder.decode(example("event-valid-full.json"))).isInstanceOf(DecodeResult.Decoded.class);
        assertThat(decoder.parse(utf8("not json"))).isInstanceOf(DecodeResult.Malformed.class);
        assertThat(decoder.parse(utf8("{\"type\":\"container.paused\"}"))).isInstanceOf(DecodeResult.UnknownType.class);
    }

    @Test
    void anInvalidEventWithoutContainerIdHasNoContainerId() throws IOException {
        DecodeResult r = decoder.decode(example("event-invalid-missing-container-id.json"));
        assertThat(((DecodeResult.Invalid) r).containerId()).isNull();
        assertThat(((DecodeResult.Invalid) r).message()).contains("containerId");
    }

    @ParameterizedTest
    @ValueSource(strings = {"event-invalid-runtime.json", "event-invalid-node-id.json", "event-invalid-occurred-at.json",
            "event-invalid-container-id.json"})
    void eachInvalidExampleDecodesAsInvalid(String name) throws IOException {
        assertThat(decoder.decode(example(name))).isInstanceOf(DecodeResult.Invalid.class);
    }

    @Test
    void anImpossibleCalendarDateIsInvalid() {
        String v = valid("c1", "\"x\":0").replace("2026-11-28T15:00:00Z", "2026-13-45T15:00:00Z");
        assertThat(decoder.decode(utf8(v))).isInstanceOf(DecodeResult.Invalid.class);
    }

    @Test
    void anOverlongEventIdIsInvalid() {
        String v = valid("c1", "\"x\":0").replace("\"eventId\":\"e\"", "\"eventId\":\"" + "e".repeat(129) + "\"");
        assertThat(decoder.decode(utf8(v))).isInstanceOf(DecodeResult.Invalid.class);
    }

    @Test
    void anOverlongEventIdIsNotQuotedBackSoTheFailedOutcomeStaysAnOutcomeV1Document() throws Exception {
        String v = valid("c1", "\"x\":0").replace("\"eventId\":\"e\"", "\"eventId\":\"" + "e".repeat(200) + "\"");
        DecodeResult.Invalid invalid = (DecodeResult.Invalid) decoder.decode(utf8(v));
        assertThat(invalid.eventId()).isNull();
        assertThat(invalid.containerId()).isEqualTo("c1");
        Outcome o = new Outcomes(java.time.Clock.systemUTC(), "n1/1", "test").invalidEvent(invalid, false);
        assertThat(DocumentSchema.load("outcome.v1.json").validate(
                new com.fasterxml.jackson.databind.ObjectMapper().readTree(new OutcomeCodec().encode(o)))).isEmpty();
        String atTheLimit = valid("c1", "\"pid\":-1").replace("\"eventId\":\"e\"", "\"eventId\":\"" + "e".repeat(128) + "\"");
        assertThat(((DecodeResult.Invalid) decoder.decode(utf8(atTheLimit))).eventId()).hasSize(128);
    }

    static String valid(String containerId, String extra) {
        return "{\"schemaVersion\":1,\"type\":\"container.started\",\"eventId\":\"e\","
                + "\"occurredAt\":\"2026-11-28T15:00:00Z\",\"nodeId\":\"n1\",\"taskId\":\"t\",\"containerId\":\""
                + containerId + "\"," + extra + "}";
    }
}
