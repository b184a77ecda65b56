package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.event.DecodeResult;
import dev.netfence.event.EventDecoder;
import dev.netfence.kafka.RecordRouter.DeadLetter;
import dev.netfence.kafka.RecordRouter.Enforce;
import dev.netfence.kafka.RecordRouter.Route;
import dev.netfence.kafka.RecordRouter.Skip;
import dev.netfence.kafka.RecordRouter.Validate;
import java.nio.charset.StandardCharsets;
import java.util.function.Function;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

class RecordRouterTest {
    private static final EventDecoder DECODER = new EventDecoder();

    private static KeylessOwnership keyless(String node) {
        return new KeylessOwnership(PipelineSettings.custom().bootstrapServers("localhost:1").nodeId(node)
                .eventsTopic("events").outcomesTopic("outcomes").version("test").build(), new NodeRouting(node));
    }

    private static RecordRouter router(String node, Function<DecodeResult.Parsed, DecodeResult> rules) {
        return new RecordRouter(DECODER, rules, new NodeRouting(node), keyless(node), true);
    }

    /** A router of {@code --assignment group}, where the value decides. */
    private static RecordRouter router(String node) {
        return router(node, DECODER::validate);
    }

    /** A router of {@code --assignment node-partition}, where the key decides. */
    private static RecordRouter nodePartitionRouter(String node) {
        return new RecordRouter(DECODER, DECODER::validate, new NodeRouting(node), keyless(node), false);
    }

    private static ConsumerRecord<byte[], byte[]> record(String key, String value) {
        return new ConsumerRecord<>("events", 0, 7L, key == null ? null : key.getBytes(StandardCharsets.UTF_8),
                value == null ? null : value.getBytes(StandardCharsets.UTF_8));
    }

    private static String event(String node, String container) {
        return new String(PipelineFixture.event("e-1", node, "task-1", container), StandardCharsets.UTF_8);
    }

    /** The final route, validating on the spot what a worker would. */
    private static Route finalRoute(RecordRouter router, ConsumerRecord<byte[], byte[]> r) {
        Route route = router.route(r);
        return route instanceof Validate v ? router.validated(v) : route;
    }

    @Test
    void aRecordKeyedForAnotherNodeIsSkippedUnlessItsValueNamesThisNode() {
        assertThat(router("n1").route(record("n2", "not json"))).isEqualTo(new Skip("unparsed", "other-node"));
        assertThat(router("n1").route(record("n2", event("n2", "c-1")))).isEqualTo(new Skip("unparsed", "other-node"));
        assertThat(router("n1").route(record("n2", event("n10", "c-1")))).as("a longer id that starts with n1")
                .isEqualTo(new Skip("unparsed", "other-node"));
        assertThat(router("n1").route(record("n2", event("n2", "n1")))).as("n1 in another field")
                .isEqualTo(new Skip("unparsed", "other-node"));
        assertThat(router("n1").route(record("n2", "\"n1\" but not json"))).isEqualTo(new Skip("unparsed", "other-node"));
        assertThat(router("n1").route(record("n2", null))).isEqualTo(new Skip("unparsed", "other-node"));
    }

    @Test
    void aRecordKeyedWithSomethingElseThanANodeWhoseValueNamesThisNodeIsEnforcedHereAndCounted() {
        RecordRouter router = router("n1");
        String value = event("n1", "c-1");
        assertThat(finalRoute(router, record("c-1", value))).as("keyed by container id")
                .isEqualTo(new Enforce(((DecodeResult.Decoded) DECODER.decode(value.getBytes(StandardCharsets.UTF_8)))
                        .event()));
        assertThat(finalRoute(router, record("n2", event("n1", "c-2")))).isInstanceOf(Enforce.class);
        assertThat(router.namedHere()).isEqualTo(2);
        assertThat(router.keyedHere()).isZero();
    }

    @Test
    void inGroupModeARecordKeyedForThisNodeWhoseValueNamesAnotherIsLeftToThatNode() {
        RecordRouter router = router("n1");
        assertThat(finalRoute(router, record("n1", event("n2", "c-1")))).isEqualTo(new Skip("container.started",
                "other-node"));
        assertThat(router.keyedHere()).isEqualTo(1);
        assertThat(finalRoute(router("n2"), record("n1", event("n2", "c-1")))).as("the node it names")
                .isInstanceOf(Enforce.class);
        assertThat(finalRoute(router("n2"), record("n1", "{\"schemaVersion\":1,\"type\":\"container.started\","
                + "\"nodeId\":\"n2\",\"containerId\":\"c-1\"}"))).as("invalid: dead-lettered by the node it names")
                .isInstanceOf(DeadLetter.class);
        assertThat(router("n1").route(record("n1", "{\"schemaVersion\":1,\"type\":\"container.started\","
                + "\"nodeId\":\"n2\",\"containerId\":\"c-1\"}"))).as("and skipped by the key's owner")
                .isEqualTo(new Skip("invalid", "other-node"));
    }

    @Test
    void inGroupModeTheKeysOwnerDeadLettersARecordNamingANodeThatCouldNotTakeIt() {
        String escaped = "{\"schemaVersion\":1,\"type\":\"container.started\",\"eventId\":\"e-1\","
                + "\"occurredAt\":\"2026-12-01T10:00:00Z\",\"nodeId\":\"n\\u0032\",\"taskId\":\"t\","
                + "\"containerId\":\"c-1\",\"pid\":4242}";
        assertThat(router("n2").route(record("n1", escaped))).as("n2's byte search misses an escaped id")
                .isEqualTo(new Skip("unparsed", "other-node"));
        assertThat(router("n1").route(record("n1", escaped))).as("so n1 dead-letters it").isInstanceOf(DeadLetter.class);
        assertThat(router("n1").route(record("n1", event("n2 x", "c-1")))).as("no node can be named so")
                .isInstanceOf(DeadLetter.class);
        assertThat(router("n1").keyedHere()).isZero();
    }

    @Test
    void loggedKeysAndIdsAreCutAndPrintable() {
        assertThat(RecordRouter.printable(null)).isEqualTo("null");
        assertThat(RecordRouter.printable("c-1\n\u0007é")).isEqualTo("c-1???");
        assertThat(RecordRouter.printable("k".repeat(100))).isEqualTo("k".repeat(64) + "...");
    }

    @Test
    void inNodePartitionModeTheKeyDecidesBothWays() {
        assertThat(nodePartitionRouter("n1").route(record("n2", event("n1", "c-1"))))
                .isEqualTo(new Skip("unparsed", "other-node"));
        assertThat(nodePartitionRouter("n1").route(record("c-1", event("n1", "c-1"))))
                .isEqualTo(new Skip("unparsed", "other-node"));
        assertThat(nodePartitionRouter("n1").route(record("n1", event("n2", "c-1")))).isInstanceOf(DeadLetter.class);
    }

    @Test
    void aRecordKeyedForThisNodeIsEnforcedOrDeadLetteredInNodePartitionModeNeverSkippedForItsValuesNode() {
        assertThat(finalRoute(router("n1"), record("n1", event("n1", "c-1")))).isInstanceOf(Enforce.class);
        assertThat(finalRoute(router("n1"), record("n1", "not json"))).isInstanceOf(DeadLetter.class);
        DeadLetter misKeyed = (DeadLetter) nodePartitionRouter("n1").route(record("n1", event("n2", "c-1")));
        assertThat(misKeyed.code().code()).isEqualTo("INVALID_EVENT");
        assertThat(misKeyed.message()).isEqualTo("record key names node n1 but the event's nodeId is n2");
        assertThat(misKeyed.invalid().eventId()).isEqualTo("e-1");
        assertThat(misKeyed.invalid().taskId()).isEqualTo("task-1");
        assertThat(misKeyed.containerId()).isEqualTo("c-1");
    }

    @Test
    void withoutAKeyTheValuesNodeDecides() {
        assertThat(finalRoute(router("n1"), record(null, event("n1", "c-1")))).isInstanceOf(Enforce.class);
        assertThat(finalRoute(router("n1"), record("", event("n1", "c-1")))).isInstanceOf(Enforce.class);
        assertThat(router("n1").route(record(null, event("n2", "c-1"))))
                .isEqualTo(new Skip("container.started", "other-node"));
    }

    @Test
    void theStarNodeTakesEveryKeyAndEveryValue() {
        assertThat(finalRoute(router("*"), record("n2", event("n3", "c-1")))).isInstanceOf(Enforce.class);
    }

    @Test
    void anUnknownTypeIsSkippedAsBefore() {
        assertThat(router("n1").route(record("n1", "{\"schemaVersion\":1,\"type\":\"container.paused\"}")))
                .isEqualTo(new Skip("unknown", "unknown-type"));
    }

    @Test
    void schemaRulesThatThrowEvenAnErrorEndInADeadLetterWithAFailedOutcomeNotAStall() {
        RecordRouter router = router("n1", p -> {
            throw new StackOverflowError("deep");
        });
        Route route = router.route(record("n1", event("n1", "c-1")));
        assertThat(route).isInstanceOf(Validate.class);
        DeadLetter d = (DeadLetter) router.validated((Validate) route);
        assertThat(d.message()).isEqualTo("event could not be validated: java.lang.StackOverflowError: deep");
        assertThat(d.containerId()).isEqualTo("c-1");
        assertThat(d.type()).isEqualTo("invalid");
    }
}
