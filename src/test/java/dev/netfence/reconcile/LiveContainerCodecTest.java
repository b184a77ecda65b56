package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.netfence.event.DocumentSchema;
import dev.netfence.netns.NamespaceId;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LiveContainerCodecTest {
    private final LiveContainerCodec codec = new LiveContainerCodec();

    @Test
    void anEntryRoundTripsAndItsJsonSatisfiesTheEnforcementSchema() throws Exception {
        LiveContainer c = new LiveContainer("3f9a0c2d8e1b", "task-42", "worker-7", "podman", 12345,
                new NamespaceId(4, 4026532801L), "/run/netns/netns-1", "sha256:" + "a".repeat(64), null, false, "iptables-nft",
                Map.of("pypi.internal", List.of("198.51.100.12")), Instant.parse("2026-11-28T15:00:00.137Z"),
                Instant.parse("2026-11-28T14:59:58.001Z"),
                new LiveContainer.Reported(List.of("CAP_NET_RAW"), List.of("netns", "host")));
        byte[] json = codec.encode(c);

        assertThat(codec.decode(json)).isEqualTo(c);
        assertThat(schemaReasons(json)).isEmpty();
        assertThat(new String(json, java.nio.charset.StandardCharsets.UTF_8))
                .contains("\"startedAt\":\"2026-11-28T14:59:58.001Z\"")
                .contains("\"reported\":{\"risks\":[\"CAP_NET_RAW\"],\"guards\":[\"netns\",\"host\"]}");
    }

    @Test
    void anEntryOfAnOlderVersionWithoutStartedAtIsReadWithTheStartUnknown() {
        String older = "{\"schemaVersion\":1,\"containerId\":\"c1\",\"taskId\":\"t\",\"nodeId\":\"n\",\"runtime\":null,"
                + "\"pid\":77,\"netns\":{\"device\":4,\"inode\":9},\"netnsPath\":null,\"policyDigest\":null,"
                + "\"errorCode\":null,\"quarantined\":false,\"backend\":\"nft\",\"resolved\":{},"
                + "\"updatedAt\":\"2026-11-28T15:00:00Z\"}";

        LiveContainer c = codec.decode(older.getBytes(java.nio.charset.StandardCharsets.UTF_8));

        assertThat(c.startedAt()).isNull();
        assertThat(c.reported()).as("what its outcome said is not known").isNull();
        assertThat(c.pid()).isEqualTo(77);
        assertThat(schemaReasons(codec.encode(c))).isEmpty();
    }

    @Test
    void anEntryWhoseOutcomeIsNotAcknowledgedSaysSoAndOneWithoutTheFieldIsReadAsAcknowledged() {
        LiveContainer c = new LiveContainer("c1", "task-42", "worker-7", "podman", 12345, new NamespaceId(4, 9), null,
                "sha256:" + "b".repeat(64), null, false, "nft", Map.of(), Instant.parse("2026-11-28T15:00:00Z"), null,
                new LiveContainer.Reported(List.of(), List.of("netns", "host"), List.of()), true);
        byte[] json = codec.encode(c);

        assertThat(codec.decode(json)).isEqualTo(c);
        assertThat(schemaReasons(json)).isEmpty();
        assertThat(new String(json, StandardCharsets.UTF_8)).contains("\"outcomeUnacknowledged\":true");
        byte[] acknowledged = codec.encode(c.unacknowledged(false));
        assertThat(new String(acknowledged, StandardCharsets.UTF_8)).as("absent, as in entries of older versions")
                .doesNotContain("outcomeUnacknowledged");
        assertThat(codec.decode(acknowledged).outcomeUnacknowledged()).isFalse();
        assertThat(schemaReasons(acknowledged)).isEmpty();
    }

    @Test
    void aHookFencedEntryWithoutTaskRoundTrips() {
        LiveContainer c = new LiveContainer("abc", null, "worker-7", null, 99, new NamespaceId(4, 7), null, null,
                "POLICY_NOT_FOUND", true, null, Map.of(), Instant.parse("2026-11-28T15:00:00Z"));
        assertThat(codec.decode(codec.encode(c))).isEqualTo(c);
        assertThat(schemaReasons(codec.encode(c))).isEmpty();
    }

    @Test
    void aDamagedReportedIsReadAsNothingRecordedAndTheEntryIsKept() {
        String entry = "{\"schemaVersion\":1,\"containerId\":\"c1\",\"taskId\":\"t\",\"nodeId\":\"n\",\"runtime\":null,"
                + "\"pid\":77,\"netns\":{\"device\":4,\"inode\":9},\"netnsPath\":null,\"policyDigest\":null,"
                + "\"errorCode\":null,\"quarantined\":false,\"backend\":\"nft\",\"resolved\":{},"
                + "\"updatedAt\":\"2026-11-28T15:00:00Z\",\"reported\":";
        for (String damaged : List.of("{\"risks\":[]}", "{\"guards\":[\"netns\"]}" /* risks only a quarantine lacks */,
                "{\"risks\":\"CAP_NET_RAW\",\"guards\":[]}", "{\"risks\":[],\"guards\":[\"netns\",\"moat\"]}",
                "{\"risks\":[1],\"guards\":[]}", "[]", "\"netns\"")) {
            LiveContainer c = codec.decode((entry + damaged + "}").getBytes(StandardCharsets.UTF_8));
            assertThat(c.reported()).as(damaged).isNull();
            assertThat(c.pid()).isEqualTo(77);
        }
        assertThat(codec.decode((entry + "{\"risks\":[\"CAP_NET_RAW\"],\"guards\":[\"netns\"]}}")
                .getBytes(StandardCharsets.UTF_8)).reported())
                .isEqualTo(new LiveContainer.Reported(List.of("CAP_NET_RAW"), List.of("netns")));
        assertThat(codec.decode((entry.replace("\"quarantined\":false", "\"quarantined\":true")
                + "{\"guards\":[\"netns\"]}}").getBytes(StandardCharsets.UTF_8)).reported())
                .as("a quarantine's").isEqualTo(new LiveContainer.Reported(null, List.of("netns")));
    }

    @Test
    void theSchemasExamplesDecodeWithWhatTheyReported() throws Exception {
        LiveContainer applied = codec.decode(java.nio.file.Files.readAllBytes(
                java.nio.file.Path.of("schemas/examples/enforcement-valid-applied.json")));
        LiveContainer quarantined = codec.decode(java.nio.file.Files.readAllBytes(
                java.nio.file.Path.of("schemas/examples/enforcement-valid-quarantined.json")));

        assertThat(applied.reported())
                .isEqualTo(new LiveContainer.Reported(List.of("CAP_NET_RAW"), List.of("netns", "host"), List.of()));
        assertThat(quarantined.reported()).isEqualTo(new LiveContainer.Reported(null, List.of("netns")));
    }

    @Test
    void anIncompleteDocumentIsRefusedNotHalfUsed() {
        assertThatThrownBy(() -> codec.decode("{\"schemaVersion\":1,\"containerId\":\"a\",\"pid\":5}"
                .getBytes(StandardCharsets.UTF_8))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> codec.decode("nope".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static List<String> schemaReasons(byte[] json) {
        try {
            return DocumentSchema.load("enforcement.v1.json").validate(new ObjectMapper().readTree(json));
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
