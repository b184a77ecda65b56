package dev.netfence.event;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.netfence.core.EnforcementResult;
import dev.netfence.core.ErrorCode;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OutcomeCodecTest {
    private static final Instant OCCURRED = Instant.parse("2026-11-28T15:00:00.123Z");
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-28T15:00:00.137Z"), ZoneOffset.UTC);
    private final OutcomeCodec codec = new OutcomeCodec();
    private final Outcomes outcomes = new Outcomes(CLOCK, "worker-7/1234", "0.1.0");
    private final DocumentSchema schema = DocumentSchema.load("outcome.v1.json");
    private final ContainerEvent event = new ContainerEvent(1, "container.started", "ev-1", OCCURRED, "worker-7",
            "task-42", "3f9a0c", "podman", 12345);

    private static EnforcementResult applied() {
        return EnforcementResult.applied().policyDigest("sha256:" + "a".repeat(64)).mode("bridge")
                .backend("iptables-nft").families(List.of("ipv4", "ipv6")).ruleCount(17)
                .resolved(Map.of("pypi.internal", List.of("198.51.100.12"))).nameservers(List.of("198.51.100.53"))
                .risks(List.of("CAP_NET_RAW")).guards(List.of("netns", "host")).attempts(1).build();
    }

    @Test
    void anAppliedOutcomeIsWrittenWithEveryContractFieldInOrder() throws Exception {
        byte[] json = codec.encode(outcomes.of(event, applied(), false));
        assertThat(new String(json, StandardCharsets.UTF_8)).isEqualTo(
                "{\"schemaVersion\":1,\"eventId\":\"ev-1\",\"taskId\":\"task-42\",\"containerId\":\"3f9a0c\","
                        + "\"nodeId\":\"worker-7\",\"status\":\"applied\",\"policyDigest\":\"sha256:" + "a".repeat(64)
                        + "\",\"mode\":\"bridge\",\"backend\":\"iptables-nft\",\"families\":[\"ipv4\",\"ipv6\"],"
                        + "\"ruleCount\":17,\"resolved\":{\"pypi.internal\":[\"198.51.100.12\"]},"
                        + "\"nameservers\":[\"198.51.100.53\"],\"risks\":[\"CAP_NET_RAW\"],\"warnings\":[],\"quarantined\":false,"
                        + "\"guards\":[\"netns\",\"host\"],\"attempts\":1,\"error\":null,"
                        + "\"eventOccurredAt\":\"2026-11-28T15:00:00.123Z\",\"finishedAt\":\"2026-11-28T15:00:00.137Z\","
                        + "\"latencyMs\":14,\"replay\":false,\"trigger\":\"start\","
                        + "\"enforcer\":{\"instance\":\"worker-7/1234\",\"version\":\"0.1.0\"}}");
        assertThat(schema.validate(new ObjectMapper().readTree(json))).isEmpty();
    }

    @Test
    void instantsAlwaysCarryMilliseconds() {
        ContainerEvent whole = new ContainerEvent(1, "container.started", "e", Instant.parse("2026-11-28T15:00:00Z"),
                "n", "t", "c", null, null);
        String json = new String(codec.encode(outcomes.of(whole, applied(), true)), StandardCharsets.UTF_8);
        assertThat(json).contains("\"eventOccurredAt\":\"2026-11-28T15:00:00.000Z\"").contains("\"replay\":true")
                .contains("\"trigger\":\"replay\"");
    }

    @Test
    void aStopEventsOutcomeIsRemovedAndAReconcilerOutcomeHasNoEventAndBothSatisfyTheSchema() throws Exception {
        ContainerEvent stop = new ContainerEvent(1, ContainerEvent.CONTAINER_STOPPED, "ev-2",
                Instant.parse("2026-11-28T15:00:00.123Z"), "worker-7", "task-42", "3f9a0c", "podman", null);
        Outcome removed = outcomes.removed(stop, false);
        assertThat(removed.status()).isEqualTo("removed");
        assertThat(removed.trigger()).isEqualTo("stop");
        assertThat(removed.error()).isNull();
        assertThat(schema.validate(new ObjectMapper().readTree(codec.encode(removed)))).isEmpty();

        Outcome drift = outcomes.reconciled("3f9a0c", "task-42", "worker-7", applied(), Trigger.DRIFT);
        assertThat(drift.eventId()).isNull();
        assertThat(drift.latencyMs()).isNull();
        assertThat(drift.trigger()).isEqualTo("drift");
        assertThat(schema.validate(new ObjectMapper().readTree(codec.encode(drift)))).isEmpty();
        assertThat(codec.decode(codec.encode(drift))).isEqualTo(drift);
    }

    @Test
    void outcomesRoundTrip() {
        Outcome o = outcomes.of(event, applied(), false);
        assertThat(codec.decode(codec.encode(o))).isEqualTo(o);
    }

    @Test
    void aFailedResultBecomesAFailedOutcomeWithoutAnExtraErrorCodeField() throws Exception {
        EnforcementResult failed = EnforcementResult.failure(ErrorCode.POLICY_NOT_FOUND, "no policy")
                .backend("iptables-nft").families(List.of("ipv4", "ipv6")).ruleCount(4).quarantined(true).attempts(1)
                .build();
        Outcome o = outcomes.of(event, failed, false);
        assertThat(o.quarantined()).isTrue();
        assertThat(o.errorCode()).isEqualTo("POLICY_NOT_FOUND");
        JsonNode node = new ObjectMapper().readTree(codec.encode(o));
        assertThat(schema.validate(node)).isEmpty();
        assertThat(node.has("errorCode")).isFalse();
    }

    @Test
    void aOneOffApplysOutcomeHasNoEventIsSchemaValidAndItsIndentedFormIsTheSameDocument() throws Exception {
        Outcome o = outcomes.oneOff("pid-4242", applied(), Instant.parse("2026-11-28T15:00:00.100Z"));
        ObjectMapper json = new ObjectMapper();

        assertThat(o.eventId()).isNull();
        assertThat(o.taskId()).isNull();
        assertThat(o.nodeId()).isNull();
        assertThat(o.eventOccurredAt()).isNull();
        assertThat(o.trigger()).isEqualTo("start");
        assertThat(o.latencyMs()).isEqualTo(37L);
        assertThat(schema.validate(json.readTree(codec.encode(o)))).isEmpty();
        String pretty = new String(codec.encodePretty(o), StandardCharsets.UTF_8);
        assertThat(pretty).contains("\n  \"containerId\" : \"pid-4242\",\n");
        assertThat(json.readTree(pretty)).isEqualTo(json.readTree(codec.encode(o)));
    }

    @Test
    void anInvalidEventOutcomeIsSchemaValid() throws Exception {
        Outcome o = outcomes.invalidEvent(new DecodeResult.Invalid("e", "n1", null, "c1", "pid: must be >= 2"), false);
        assertThat(schema.validate(new ObjectMapper().readTree(codec.encode(o)))).isEmpty();
        assertThat(o.error()).isEqualTo(new EnforcementResult.ErrorInfo("INVALID_EVENT", "pid: must be >= 2", false));
    }

    @Test
    void readingSomethingElseFailsWithIllegalArgument() {
        assertThatThrownBy(() -> codec.decode("{\"status\":".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(IllegalArgumentException.class);
    }
    @Test
    void bytesAfterTheOutcomeAreRefusedNotIgnored() {
        byte[] valid = codec.encode(outcomes.of(event, applied(), false));
        byte[] junk = "\u001b]0;owned\u0007".getBytes(StandardCharsets.UTF_8);
        byte[] trailing = java.util.Arrays.copyOf(valid, valid.length + junk.length);
        System.arraycopy(junk, 0, trailing, valid.length, junk.length);
        assertThatThrownBy(() -> codec.decode(trailing)).as("netfence outcomes --json prints a decoded record as read")
                .isInstanceOf(IllegalArgumentException.class);
    }
}
