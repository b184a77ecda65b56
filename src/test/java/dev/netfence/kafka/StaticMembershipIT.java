package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.kafka.testkit.TestKafka;
import dev.netfence.testkit.KafkaLane;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11 item 7: after {@code kill -9}, a restarted {@code netfence run} gets its partitions back
 * at once, because it rejoins under the same static {@code group.instance.id netfence-<nodeId>}
 * (KIP-345). The session timeout is 90 s here: without static membership (today's main) the
 * coordinator gives a new member the partitions only after the dead member's session expired, so
 * run 2 cannot be assigned anything within 90 s of the kill; with it, it replaces the dead member
 * as soon as it joins. The test asserts that order of events (assigned before the session could
 * expire), not a speed.
 */
@KafkaLane
class StaticMembershipIT {
    private static final Duration SESSION = Duration.ofSeconds(90);
    @TempDir
    Path dir;

    @Test
    void anInstanceRestartedAfterKill9GetsItsPartitionsBackWithoutWaitingForTheSessionTimeout() throws Exception {
        String node = "static-" + UUID.randomUUID().toString().substring(0, 8);
        List<NetfenceProcess> runs = new ArrayList<>();
        try (DeliveryLedger ledger = new DeliveryLedger(node, 2)) {
            List<String> args = runArgs(ledger);
            NetfenceProcess first = NetfenceProcess.start(dir.resolve("run-1.log"), args);
            runs.add(first);
            ledger.publishEvents(5);
            await("run 1 handles its events").atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200))
                    .until(() -> !first.isAlive() || ledger.lost(false).isEmpty());
            assertThat(members(ledger.node)).containsExactly("netfence-" + node);
            first.kill9();
            long killed = System.nanoTime();

            NetfenceProcess second = NetfenceProcess.start(dir.resolve("run-2.log"), args);
            runs.add(second);
            ledger.publishEvents(5);
            // The dead member stays in the group until its session times out: a new dynamic member
            // cannot be given the partitions before then. A static one replaces it at once.
            await("run 2 is assigned the partitions before the dead member's session could expire")
                    .atMost(SESSION.minusSeconds(10)).pollInterval(Duration.ofMillis(200))
                    .until(() -> !second.isAlive() || second.log().contains("assigned ["));
            assertThat(second.log()).as("run 2 log").contains("assigned [");
            assertThat(Duration.ofNanos(System.nanoTime() - killed)).isLessThan(SESSION);
            await("events published after the restart get outcomes").atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(200)).until(() -> !second.isAlive() || ledger.lost(false).isEmpty());
            assertThat(ledger.lost(false)).isEmpty();
            assertThat(members(ledger.node)).containsExactly("netfence-" + node);
            assertThat(second.stop()).isZero();
        } catch (Throwable t) {
            for (int i = 0; i < runs.size(); i++) {
                System.err.println("=== run " + (i + 1) + " (pid " + runs.get(i).pid() + ") ===\n" + runs.get(i).logTail(60));
            }
            throw t;
        } finally {
            runs.forEach(NetfenceProcess::close);
        }
    }

    /** The group.instance.ids of the node's group members. */
    private static Set<String> members(String node) throws Exception {
        try (Admin admin = TestKafka.admin()) {
            ConsumerGroupDescription d = admin.describeConsumerGroups(List.of("netfence-" + node))
                    .describedGroups().get("netfence-" + node).get(10, TimeUnit.SECONDS);
            return d.members().stream().map(MemberDescription::groupInstanceId)
                    .map(o -> o.orElse("(dynamic)")).collect(Collectors.toSet());
        }
    }

    private List<String> runArgs(DeliveryLedger ledger) throws Exception {
        Path policies = Files.createDirectories(dir.resolve("policies"));
        for (int t = 0; t < 3; t++) {
            Files.writeString(policies.resolve("task-" + t + ".json"), "{\"schemaVersion\":1,\"mode\":\"bridge\","
                    + "\"allowedEndpoints\":[\"198.18.0." + (10 + t) + ":443\"],\"dns\":false,\"outbound\":false,"
                    + "\"inbound\":false}");
        }
        Path config = Files.writeString(dir.resolve("netfence.properties"), String.join("\n",
                "kafka.session.timeout.ms=" + SESSION.toMillis(), "kafka.heartbeat.interval.ms=1000", "kafka.metadata.max.age.ms=2000", ""));
        return List.of("run", "--bootstrap-servers", TestKafka.bootstrapServers(), "--node-id", ledger.node,
                "--events-topic", ledger.events, "--outcomes-topic", ledger.outcomes, "--policy-dir", policies.toString(),
                "--config", config.toString(), "--concurrency", "2", "--http-port", "0", "--dry-run");
    }
}
