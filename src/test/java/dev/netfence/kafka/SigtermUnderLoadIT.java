package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.event.Outcome;
import dev.netfence.kafka.testkit.TestKafka;
import dev.netfence.testkit.RunsAlone;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11 item 6: {@code netfence run} (the real jar, a child JVM) is stopped with SIGTERM while
 * events keep arriving and two events wait for a policy that is not there yet (a policy wait far
 * longer than the shutdown timeout). Half a shutdown timeout after the drain should have ended,
 * the test writes that policy, so anything still draining then finishes those two events and
 * starts the events queued behind them. The run must drain once and exit 0 within its budget,
 * refuse nothing, and lose no outcome: every event it enforced (its DEBUG log names the event's
 * own container) has the outcome it wrote. A second run does the rest: every event ends with an
 * outcome, the events before the unfinished ones exactly one, and none of those is enforced
 * again. (Events after an unfinished one in the partition are redone, at-least-once: the commit
 * cannot pass the gap.) Today's main drained twice: after the first drain it closed the sink,
 * then {@code consumer.close()} ran the revoke listener, which waited the shutdown timeout again;
 * the policy arriving in that second wait let the late events and those queued behind them run,
 * and their outcomes were refused by the closed sink ({@code RejectedExecutionException}):
 * enforced, never reported.
 */
@RunsAlone
class SigtermUnderLoadIT {
    private static final Pattern ENFORCED = Pattern.compile("dry run for container c-(\\S+):");
    private static final int SHUTDOWN_SECONDS = 6;

    @TempDir
    Path dir;

    @Test
    void sigtermMidLoadDrainsOnceAndEveryFinishedEventHasExactlyOneOutcome() throws Exception {
        String node = "term-" + UUID.randomUUID().toString().substring(0, 8);
        List<NetfenceProcess> runs = new ArrayList<>();
        AtomicBoolean loading = new AtomicBoolean(true);
        try (DeliveryLedger ledger = new DeliveryLedger(node, 1)) {
            List<String> args = runArgs(ledger);
            NetfenceProcess first = NetfenceProcess.start(dir.resolve("run-1.log"), List.of("-Dnetfence.log.level=DEBUG"), args);
            runs.add(first);
            for (int i = 0; i < 30; i++) {
                ledger.publishEvent("task-" + (i % 3));
            }
            await("run 1 works").atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(100))
                    .until(() -> !first.isAlive() || ledger.outcomeCounts(false).size() >= 20);
            assertThat(first.isAlive()).as("run 1 died by itself:\n%s", first.logTail(40)).isTrue();
            List<String> beforeLate = List.copyOf(ledger.publishedEventIds());
            ledger.publishEvent("task-late");
            ledger.publishEvent("task-late");
            Thread loader = new Thread(() -> {
                int i = 0;
                while (loading.get()) {
                    ledger.publishEvent("task-" + (i++ % 3));
                    sleep(20);
                }
            }, "sigterm-it-loader");
            loader.start();
            // SIGTERM while the two late events are taken (main: both workers blocked on them)
            int taken = beforeLate.size() + 2;
            await("run 1 took the late events").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                    .until(() -> consumed(first) >= taken);

            long signalled = System.nanoTime();
            first.terminate();
            // the policy of the late events arrives after the one drain should have ended (and in
            // the middle of a second one, if there is one)
            long policyAt = signalled + SHUTDOWN_SECONDS * 1_500_000_000L;
            while (first.isAlive() && System.nanoTime() - policyAt < 0) {
                sleep(50);
            }
            Files.writeString(dir.resolve("policies").resolve("task-late.json"), policy(3));
            int exit = first.awaitExit(60);
            long tookMillis = (System.nanoTime() - signalled) / 1_000_000;
            loading.set(false);
            loader.join(10_000);
            assertThat(exit).as("run 1 exit code after SIGTERM:\n%s", first.logTail(40)).isZero();
            assertThat(tookMillis).as("SIGTERM to exit, ms (budget: drain %d s + %d s)", SHUTDOWN_SECONDS,
                    ShutdownBudget.AFTER_DRAIN.toSeconds())
                    .isLessThan((SHUTDOWN_SECONDS + ShutdownBudget.AFTER_DRAIN.toSeconds() + 5) * 1000L);
            String log1 = first.log();
            assertThat(log1).doesNotContain("RejectedExecutionException");
            assertThat(errorLines(log1)).as("ERROR lines of run 1 (but the Kafka client's on leaving the shared keyless"
                    + " group mid-rejoin)").isEmpty();

            NetfenceProcess second = NetfenceProcess.start(dir.resolve("run-2.log"), List.of("-Dnetfence.log.level=DEBUG"), args);
            runs.add(second);
            await("every event has an outcome").atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(250))
                    .until(() -> !second.isAlive() || (ledger.lost(false).isEmpty() && ledger.offsetsAtEnd(1)));
            assertThat(second.stop()).as("run 2 exit code").isZero();

            Map<String, Long> counts = ledger.outcomeCounts(false);
            assertThat(counts.keySet()).as("every event has an outcome")
                    .containsExactlyInAnyOrderElementsOf(ledger.publishedEventIds());
            assertThat(beforeLate).as("events before the first one run 1 left unfinished: exactly one outcome")
                    .allSatisfy(id -> assertThat(counts.get(id)).as(id).isEqualTo(1L));
            Set<String> enforcedByFirst = enforced(log1);
            String firstInstance = node + "/" + first.pid();
            Map<String, Set<String>> writers = ledger.outcomeList(false).stream().collect(Collectors.groupingBy(
                    Outcome::eventId, Collectors.mapping(o -> o.enforcer().instance(), Collectors.toSet())));
            assertThat(enforcedByFirst).as("run 1 enforced events").isNotEmpty();
            assertThat(enforcedByFirst).as("every event run 1 enforced has the outcome run 1 wrote (none lost)")
                    .allSatisfy(id -> assertThat(writers.get(id)).as(id).contains(firstInstance));
            assertThat(enforced(second.log())).as("run 2 redoes nothing run 1 finished and committed")
                    .doesNotContainAnyElementsOf(beforeLate);
        } catch (Throwable t) {
            for (int i = 0; i < runs.size(); i++) {
                System.err.println("=== run " + (i + 1) + " (pid " + runs.get(i).pid() + ") ===\n" + runs.get(i).logTail(80));
            }
            throw t;
        } finally {
            loading.set(false);
            runs.forEach(NetfenceProcess::close);
        }
    }

    @Test
    void errorLinesKeepEveryErrorButTheKafkaClientsLeaveOfTheKeylessGroupMidRejoin() {
        String leave = "2026-12-05T11:46:20.956Z ERROR [netfence-poll] o.a.k.c.c.i.ConsumerCoordinator - [Consumer"
                + " clientId=netfence-keyless-term-d33ef0c3-11670, groupId=netfence-keyless-crash-events-21c97352]"
                + " LeaveGroup request with Generation{generationId=-1, memberId='m-1', protocol='null'} failed with"
                + " error: The coordinator is not aware of this member.";
        String ownError = "2026-12-05T11:46:20.957Z ERROR [netfence-worker-1] d.netfence.enforce.DefaultEnforcer - boom";
        String eventsGroupLeave = leave.replace("groupId=netfence-keyless-crash-events", "groupId=netfence-term");
        String otherLeaveError = leave.replace("The coordinator is not aware of this member.", "Unknown server error.");
        String info = leave.replace(" ERROR ", " INFO  ");

        assertThat(errorLines(String.join("\n", leave, info, ownError, eventsGroupLeave, otherLeaveError)))
                .containsExactly(ownError, eventsGroupLeave, otherLeaveError);
    }

    /** Events run {@code p} has read so far, from its /metrics. */
    private static double consumed(NetfenceProcess p) {
        Matcher port = Pattern.compile("metrics and health on port (\\d+)").matcher(p.log());
        if (!port.find()) {
            return 0;
        }
        try {
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + port.group(1) + "/metrics")).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString());
            Matcher m = Pattern.compile("(?m)^netfence_events_consumed_total\\{[^}]*\\} (\\S+)$").matcher(r.body());
            double n = 0;
            while (m.find()) {
                n += Double.parseDouble(m.group(1));
            }
            return n;
        } catch (Exception e) {
            return 0;
        }
    }

    /**
     * The log's ERROR lines, without one the Kafka client writes itself: a consumer closed while it
     * rejoins a group (here the shared keyless group, whose member the coordinator had already
     * dropped, e.g. after a heartbeat late on a loaded machine) sends a LeaveGroup the coordinator
     * answers UNKNOWN_MEMBER_ID, which the client logs at ERROR. The member is gone either way
     * (docs/operations.md); seen once in a CI run of 415775f.
     */
    static List<String> errorLines(String log) {
        return log.lines().filter(l -> l.contains(" ERROR "))
                .filter(l -> !(l.contains(" o.a.k.c.c.i.ConsumerCoordinator - ") && l.contains("groupId=netfence-keyless-")
                        && l.contains("LeaveGroup request with Generation{generationId=-1,")
                        && l.endsWith("failed with error: The coordinator is not aware of this member.")))
                .toList();
    }

    private static Set<String> enforced(String log) {
        Set<String> ids = new java.util.HashSet<>();
        Matcher m = ENFORCED.matcher(log);
        while (m.find()) {
            ids.add(m.group(1));
        }
        return ids;
    }

    private List<String> runArgs(DeliveryLedger ledger) throws Exception {
        Path policies = Files.createDirectories(dir.resolve("policies"));
        for (int t = 0; t < 3; t++) {
            Files.writeString(policies.resolve("task-" + t + ".json"), policy(t));
        }
        Path config = Files.writeString(dir.resolve("netfence.properties"), String.join("\n",
                "kafka.session.timeout.ms=6000", "kafka.heartbeat.interval.ms=500", "kafka.metadata.max.age.ms=2000", ""));
        return List.of("run", "--bootstrap-servers", TestKafka.bootstrapServers(), "--node-id", ledger.node,
                "--events-topic", ledger.events, "--outcomes-topic", ledger.outcomes, "--policy-dir", policies.toString(),
                "--config", config.toString(), "--concurrency", "2", "--max-in-flight", "100", "--http-port", "0",
                "--shutdown-timeout", SHUTDOWN_SECONDS + "s", "--policy-wait", "120s", "--dry-run");
    }

    private static String policy(int t) {
        return "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.18.0." + (10 + t) + ":443\"],"
                + "\"dns\":false,\"outbound\":false,\"inbound\":false}";
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
