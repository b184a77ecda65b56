package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.event.Outcome;
import dev.netfence.event.OutcomeCodec;
import dev.netfence.kafka.testkit.TestKafka;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.SandboxNet;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The live set survives a crash: the real jar enforces a policy in a namespace, is SIGKILLed, the
 * namespace's rules are flushed while nothing runs, and a restarted instance repairs them from its
 * live-set topic at its first resync, without any new event (and without re-reading the events:
 * its consumer group's offsets were committed past the start event).
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class ReconcileCrashIT {
    private static final int ALLOWED = 8463;
    private static final int OTHER = 8464;

    @TempDir
    Path dir;

    @Test
    void afterSigkillAndAFlushWhileDownTheRestartedServiceRepairsTheRulesWithoutANewEvent() throws Exception {
        String node = "rcrash-" + UUID.randomUUID().toString().substring(0, 8);
        String events = TestKafka.uniqueTopic("rcrash-events");
        String outcomes = events + ".outcomes";
        TestKafka.createTopics(1, events, outcomes, events + ".dlq");
        OutcomeCodec codec = new OutcomeCodec();
        List<NetfenceProcess> runs = new ArrayList<>();
        try (SandboxNet net = SandboxNet.create(); KafkaProducer<byte[], byte[]> producer = TestKafka.producer()) {
            net.peerListens(ALLOWED);
            net.peerListens(OTHER);
            Path policies = Files.createDirectories(dir.resolve("policies"));
            Files.writeString(policies.resolve("task-crash.json"), "{\"schemaVersion\":1,\"mode\":\"bridge\","
                    + "\"allowedEndpoints\":[\"" + net.peerV4() + ":" + ALLOWED + "\",\"[" + net.peerV6() + "]:"
                    + ALLOWED + "\"],\"dns\":false,\"outbound\":false,\"inbound\":false}");
            List<String> args = List.of("run", "--bootstrap-servers", TestKafka.bootstrapServers(), "--node-id", node,
                    "--events-topic", events, "--outcomes-topic", outcomes, "--policy-dir", policies.toString(),
                    "--enforcements-topic", TestKafka.uniqueTopic("rcrash-enforcements"), "--cgroup-check", "false",
                    "--resync-interval", "1s", "--http-port", "0", "--hook-socket", dir.resolve("h.sock").toString());
            Predicate<Outcome> started = o -> "ev-crash".equals(o.eventId());

            NetfenceProcess first = NetfenceProcess.start(dir.resolve("run-1.log"), args);
            runs.add(first);
            producer.send(new ProducerRecord<>(events, node.getBytes(StandardCharsets.UTF_8),
                    ("{\"schemaVersion\":1,\"type\":\"container.started\",\"eventId\":\"ev-crash\",\"occurredAt\":\""
                            + Instant.now() + "\",\"nodeId\":\"" + node + "\",\"taskId\":\"task-crash\","
                            + "\"containerId\":\"c-crash\",\"pid\":" + net.containerPid() + "}")
                            .getBytes(StandardCharsets.UTF_8))).get(30, TimeUnit.SECONDS);
            await("applied").atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200))
                    .until(() -> outcomes(codec, outcomes).stream().anyMatch(started.and(o -> "applied".equals(o.status()))));
            assertThat(net.containerTcp(net.peerV4(), OTHER)).isEqualTo("REFUSED");
            // let a commit and a resync pass, so the restart has nothing to redo from the events topic
            Thread.sleep(3000);
            first.kill9();

            net.resetRules();
            assertThat(net.containerTcp(net.peerV4(), OTHER)).as("flushed while netfence is down").isEqualTo("OK");
            int before = outcomes(codec, outcomes).size();

            NetfenceProcess second = NetfenceProcess.start(dir.resolve("run-2.log"), args);
            runs.add(second);
            Outcome repaired = await("repaired after the restart").atMost(Duration.ofSeconds(90))
                    .pollInterval(Duration.ofMillis(200)).until(() -> outcomes(codec, outcomes).stream().skip(before)
                            .filter(o -> "drift".equals(o.trigger())).findFirst().orElse(null), o -> o != null);
            assertThat(repaired.containerId()).isEqualTo("c-crash");
            assertThat(repaired.status()).isEqualTo("applied");
            assertThat(net.containerTcp(net.peerV4(), OTHER)).isEqualTo("REFUSED");
            assertThat(net.containerTcp(net.peerV6(), OTHER)).isEqualTo("REFUSED");
            assertThat(net.containerTcp(net.peerV4(), ALLOWED)).isEqualTo("OK");
            assertThat(outcomes(codec, outcomes).stream().skip(before).filter(started))
                    .as("the start event was not processed again").isEmpty();
            assertThat(second.stop()).isZero();
        } catch (Throwable t) {
            for (int i = 0; i < runs.size(); i++) {
                System.err.println("=== run " + (i + 1) + " ===\n" + runs.get(i).logTail(60));
            }
            throw t;
        } finally {
            runs.forEach(NetfenceProcess::close);
        }
    }

    private static List<Outcome> outcomes(OutcomeCodec codec, String topic) {
        return TestKafka.readAll(topic).stream().map(r -> codec.decode(r.value())).toList();
    }
}
