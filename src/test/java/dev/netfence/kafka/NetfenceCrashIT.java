package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.event.Outcome;
import dev.netfence.kafka.testkit.TestKafka;
import dev.netfence.testkit.KafkaLane;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash recovery of the real service: {@code java -jar target/netfence.jar run --dry-run} as a
 * child JVM against the test broker, SIGKILLed twice while it works through a stream of events
 * (and poison records), with more events published while nothing runs, then started a third time
 * and stopped with SIGTERM. At-least-once: every event has at least one outcome and every poison
 * record at least one dead letter. Exactly-once: read as a {@code read_committed} dashboard,
 * exactly one outcome per event and one dead letter per poison record. In both modes the group's
 * committed offsets end at the end of the events topic and the last run exits 0. The kill points
 * are chosen by progress (outcomes seen), never by time.
 */
@KafkaLane
class NetfenceCrashIT {
    private static final int PARTITIONS = 3;
    private static final int WAVE = 120;
    private static final Duration PATIENCE = Duration.ofSeconds(90);

    @TempDir
    Path dir;

    @Test
    void atLeastOnceEveryEventHasAnOutcomeAfterRepeatedSigkills() throws Exception {
        crashTwiceAndRecover(false);
    }

    @Test
    void exactlyOnceEveryEventHasExactlyOneCommittedOutcomeAfterRepeatedSigkills() throws Exception {
        crashTwiceAndRecover(true);
    }

    private void crashTwiceAndRecover(boolean exactlyOnce) throws Exception {
        String node = "crash-" + UUID.randomUUID().toString().substring(0, 8);
        List<NetfenceProcess> runs = new ArrayList<>();
        try (DeliveryLedger ledger = new DeliveryLedger(node, PARTITIONS)) {
            List<String> args = runArgs(ledger, exactlyOnce);
            ledger.publishEvents(WAVE);
            ledger.publishPoison();
            for (int kill = 1; kill <= 2; kill++) {
                NetfenceProcess run = NetfenceProcess.start(dir.resolve("run-" + kill + ".log"), args);
                runs.add(run);
                int target = kill * WAVE / 3;
                await("run " + kill + " produces " + target + " outcomes").atMost(PATIENCE)
                        .pollInterval(Duration.ofMillis(100))
                        .until(() -> !run.isAlive() || ledger.outcomeCounts(false).size() >= target);
                assertThat(run.isAlive()).as("run %d died by itself:\n%s", kill, run.logTail(40)).isTrue();
                run.kill9();
                // more work arrives while no instance runs
                ledger.publishEvents(WAVE / 2);
                ledger.publishPoison();
            }
            NetfenceProcess last = NetfenceProcess.start(dir.resolve("run-3.log"), args);
            runs.add(last);
            await("every event has an outcome").atMost(PATIENCE).pollInterval(Duration.ofMillis(250))
                    .until(() -> !last.isAlive() || (ledger.lost(exactlyOnce).isEmpty()
                            && ledger.deadLetterCounts(exactlyOnce).keySet().containsAll(ledger.publishedPoison())));
            assertThat(last.stop()).as("exit code of the last run (SIGTERM)").isZero();

            List<String> published = ledger.publishedEventIds();
            assertThat(published).hasSize(2 * WAVE);
            assertThat(ledger.lost(false)).as("events without any outcome").isEmpty();
            Map<String, Long> deadLetters = ledger.deadLetterCounts(exactlyOnce);
            assertThat(deadLetters.keySet()).containsAll(ledger.publishedPoison());
            List<Outcome> raw = ledger.outcomeList(false);
            Set<String> writers = raw.stream().map(o -> o.enforcer().instance()).collect(Collectors.toSet());
            assertThat(writers).as("outcomes were written by the killed runs and by their successors").hasSizeGreaterThan(1);
            assertThat(raw).allSatisfy(o -> assertThat(o.status()).isEqualTo("applied"));
            if (exactlyOnce) {
                Map<String, Long> committed = ledger.outcomeCounts(true);
                assertThat(committed.keySet()).containsExactlyInAnyOrderElementsOf(published);
                assertThat(committed).as("committed outcomes per event").allSatisfy((id, n) -> assertThat(n).isEqualTo(1L));
                assertThat(deadLetters).as("committed dead letters per poison record")
                        .hasSize(ledger.publishedPoison().size()).allSatisfy((v, n) -> assertThat(n).isEqualTo(1L));
            }
            assertThat(ledger.offsetsAtEnd(PARTITIONS)).as("committed offsets reach the end of the events topic").isTrue();
        } catch (Throwable t) {
            for (int i = 0; i < runs.size(); i++) {
                System.err.println("=== run " + (i + 1) + " (pid " + runs.get(i).pid() + ") ===\n" + runs.get(i).logTail(80));
            }
            throw t;
        } finally {
            runs.forEach(NetfenceProcess::close);
        }
    }

    private List<String> runArgs(DeliveryLedger ledger, boolean exactlyOnce) throws Exception {
        Path policies = Files.createDirectories(dir.resolve("policies"));
        for (int t = 0; t < 3; t++) {
            Files.writeString(policies.resolve("task-" + t + ".json"), "{\"schemaVersion\":1,\"mode\":\"bridge\","
                    + "\"allowedEndpoints\":[\"198.18.0." + (10 + t) + ":443\",\"[2001:db8::" + (10 + t) + "]:443\"],"
                    + "\"dns\":false,\"outbound\":false,\"inbound\":false}");
        }
        Path config = Files.writeString(dir.resolve("netfence.properties"), String.join("\n",
                "kafka.session.timeout.ms=6000",
                "kafka.heartbeat.interval.ms=500",
                "kafka.metadata.max.age.ms=2000",
                ""));
        List<String> args = new ArrayList<>(List.of("run",
                "--bootstrap-servers", TestKafka.bootstrapServers(),
                "--node-id", ledger.node,
                "--events-topic", ledger.events,
                "--outcomes-topic", ledger.outcomes,
                "--policy-dir", policies.toString(),
                "--config", config.toString(),
                "--concurrency", "2",
                "--max-in-flight", "40",
                "--http-port", "0",
                "--shutdown-timeout", "20s",
                "--dry-run"));
        if (exactlyOnce) {
            args.add("--exactly-once");
        }
        return args;
    }
}
