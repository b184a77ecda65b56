package dev.netfence.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The documents the benchmark feeds netfence: container events of the real JSON shape (every
 * field schemas/container-event.v1.json defines, a fresh eventId, occurredAt now) and bridge policies with a given
 * number of literal endpoints (IPv4 and IPv6 alternating, in 198.18.0.0/15 and 2001:db8::/32, so
 * no name resolution is involved and nothing outside the test ranges is named).
 */
final class BenchData {
    private BenchData() {}

    static byte[] event(String nodeId, String taskId, String containerId, int pid, Instant occurredAt) {
        String json = "{\"schemaVersion\":1,\"type\":\"container.started\",\"eventId\":\"" + UUID.randomUUID()
                + "\",\"occurredAt\":\"" + occurredAt + "\",\"nodeId\":\"" + nodeId + "\",\"taskId\":\"" + taskId
                + "\",\"containerId\":\"" + containerId + "\",\"runtime\":\"podman\",\"pid\":" + pid + "}";
        return json.getBytes(StandardCharsets.UTF_8);
    }

    static ProducerRecord<byte[], byte[]> eventRecord(String topic, String nodeId, String taskId, String containerId,
            int pid, Instant occurredAt) {
        return new ProducerRecord<>(topic, nodeId.getBytes(StandardCharsets.UTF_8),
                event(nodeId, taskId, containerId, pid, occurredAt));
    }

    /** A bridge policy with {@code endpoints} allowed endpoints, DNS on, outbound and inbound off. */
    static String policy(int endpoints, int variant) {
        List<String> eps = new ArrayList<>();
        for (int i = 0; i < endpoints; i++) {
            int host = 1 + (variant * 7 + i) % 250;
            eps.add(i % 2 == 0 ? "\"198.19.200." + host + ":" + (443 + i) + "\""
                    : "\"[2001:db8:ffff::" + Integer.toHexString(host) + "]:" + (443 + i) + "\"");
        }
        return "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[" + String.join(",", eps)
                + "],\"blockedSubnets\":[\"10.0.0.0/8\",\"172.16.0.0/12\",\"192.168.0.0/16\"],"
                + "\"dns\":true,\"outbound\":false,\"inbound\":false}";
    }

    /** Writes {@code tasks} policies {@code <prefix><i>.json} into {@code dir}. */
    static void writePolicyDir(Path dir, String prefix, int tasks, int endpoints) throws IOException {
        Files.createDirectories(dir);
        for (int i = 0; i < tasks; i++) {
            Files.writeString(dir.resolve(prefix + i + ".json"), policy(endpoints, i), StandardCharsets.UTF_8);
        }
    }
}
