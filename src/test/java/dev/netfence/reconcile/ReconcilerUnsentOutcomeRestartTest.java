package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.testkit.CapturedLogs;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/**
 * Review 200 #2: a reconciler outcome that did not get out is published after a restart too. The
 * journal here keeps each container's last entry as the enforcements topic does, and a restart is
 * a new reconciler over a live set read back from it. Before, the entry recorded the new state as
 * reported before its outcome was acknowledged, the promise to say it again lived in memory only,
 * and after a restart the outcomes topic kept showing the old state for good.
 */
class ReconcilerUnsentOutcomeRestartTest extends ReconcilerFixture {

    /** How the publisher settles what it is given from now on. */
    private volatile Send send = Send.ACKNOWLEDGE;
    /** The entry the journal held for an outcome's container when the outcome was sent. */
    private final Map<String, LiveContainer> journaledAtSend = new ConcurrentHashMap<>();

    private enum Send { ACKNOWLEDGE, FAIL, NEVER_SETTLE }

    @Override
    LiveSetJournal journal() {
        return keepingJournal();
    }

    /** Each send settled as {@link #send} says ({@link #published}: the acknowledged). */
    @Override
    OutcomePublisher publisher() {
        return settling(outcome -> {
            LiveContainer entry = journaled.get(outcome.containerId());
            if (entry != null) {
                journaledAtSend.put(outcome.containerId(), entry);
            }
            return switch (send) {
                case FAIL -> CompletableFuture.failedFuture(new IllegalStateException("refused for good"));
                case NEVER_SETTLE -> new CompletableFuture<>();
                case ACKNOWLEDGE -> {
                    published.add(outcome);
                    yield CompletableFuture.completedFuture(null);
                }
            };
        });
    }

    /** netfence stopped (the reconciler closed) and started again over what the journal holds: its first resync run. */
    private void restart() {
        reconciler.close();
        LiveSet read = new LiveSet(journal(), new SimpleMeterRegistry());
        journaled.values().forEach(read::restore);
        reconciler = reconcilerOver(read);
        await().atMost(Duration.ofSeconds(10)).until(() -> reconciler.cycles() >= 1);
    }

    @Test
    void aPolicyUpdatesOutcomeTheTopicRefusedIsPublishedAtTheFirstResyncAfterARestart() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        send = Send.FAIL;

        policies.put("task-1", ALLOW_B);
        await().atMost(Duration.ofSeconds(10)).until(() -> journaledAtSend.containsKey("c1"));
        String digest = reconciler.liveSet().get("c1").orElseThrow().policyDigest();
        assertThat(journaled.get("c1").policyDigest()).as("what is in force now").isEqualTo(digest);
        assertThat(journaled.get("c1").outcomeUnacknowledged()).as("its outcome not acknowledged").isTrue();
        enforcer.calls.clear();
        send = Send.ACKNOWLEDGE;

        restart();

        await().atMost(Duration.ofSeconds(10)).until(() -> !published.isEmpty());
        assertThat(published).singleElement().satisfies(o -> {
            assertThat(o.status()).isEqualTo("applied");
            assertThat(o.policyDigest()).isEqualTo(digest);
        });
        assertThat(enforcer.calls).as("read back, not applied again").containsExactly("reconcile c1");
        await().atMost(Duration.ofSeconds(10)).until(() -> !journaled.get("c1").outcomeUnacknowledged());

        published.clear();
        restart();
        assertThat(published).as("said once, not at every restart").isEmpty();
    }

    /** kill -9, or a SIGTERM while the producer still waits: the journal said so before the outcome was sent. */
    @Test
    void anOutcomeNeverAcknowledgedBeforeTheRestartIsPublishedAfterIt() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        send = Send.NEVER_SETTLE;

        policies.put("task-1", ALLOW_B);
        await().atMost(Duration.ofSeconds(10)).until(() -> journaledAtSend.containsKey("c1"));
        assertThat(journaledAtSend.get("c1")).as("journaled before it was sent").satisfies(c -> {
            assertThat(c.policyDigest()).isEqualTo(reconciler.liveSet().get("c1").orElseThrow().policyDigest());
            assertThat(c.outcomeUnacknowledged()).isTrue();
        });
        reconciler.resyncNow();
        assertThat(handed).as("not said again while it is on its way (review 203 #5: published counts only the"
                + " acknowledged)").hasSize(1);
        send = Send.ACKNOWLEDGE;

        restart();

        await().atMost(Duration.ofSeconds(10)).until(() -> !published.isEmpty());
        assertThat(published).singleElement().satisfies(o -> assertThat(o.status()).isEqualTo("applied"));
    }

    /** Review 203 #7: a state said again after a restart logged two WARN lines, one saying what was not known. */
    @Test
    void eachStateSaidAgainLogsOneLineThatSaysWhy() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        send = Send.FAIL;
        policies.put("task-1", ALLOW_B);
        await().atMost(Duration.ofSeconds(10)).until(() -> handed.size() == 1);
        send = Send.ACKNOWLEDGE;
        try (CapturedLogs marks = CapturedLogs.of(OutcomeMarks.class);
                CapturedLogs corrections = CapturedLogs.of(Corrections.class)) {
            reconciler.resyncNow();

            assertThat(handed).hasSize(2);
            assertThat(warnings(marks, corrections)).as("its send failed here").singleElement().asString()
                    .contains("its last outcome was not published").doesNotContain("journal");
        }

        send = Send.FAIL;
        policies.put("task-1", ALLOW_A);
        await().atMost(Duration.ofSeconds(10)).until(() -> handed.size() == 3);
        send = Send.ACKNOWLEDGE;
        try (CapturedLogs marks = CapturedLogs.of(OutcomeMarks.class);
                CapturedLogs corrections = CapturedLogs.of(Corrections.class)) {
            restart();

            await().atMost(Duration.ofSeconds(10)).until(() -> handed.size() == 4);
            assertThat(warnings(marks, corrections)).as("the journal said so").singleElement().asString()
                    .contains("read back from the journal").doesNotContain("was not published");
        }
    }

    private static List<String> warnings(CapturedLogs... logs) {
        return java.util.Arrays.stream(logs).flatMap(l -> l.messages(ch.qos.logback.classic.Level.WARN).stream())
                .toList();
    }

    @Test
    void aDeletedPolicysQuarantineTheTopicRefusedIsPublishedAfterARestart() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        send = Send.FAIL;

        policies.delete("task-1");
        await().atMost(Duration.ofSeconds(10)).until(() -> journaledAtSend.containsKey("c1"));
        send = Send.ACKNOWLEDGE;

        restart();

        await().atMost(Duration.ofSeconds(10)).until(() -> !published.isEmpty());
        assertThat(published).singleElement().satisfies(o -> {
            assertThat(o.errorCode()).isEqualTo("POLICY_NOT_FOUND");
            assertThat(o.quarantined()).isTrue();
        });
    }

    @Test
    void anAcknowledgedOutcomeIsNotPublishedAgainAfterARestart() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");

        policies.put("task-1", ALLOW_B);
        await().atMost(Duration.ofSeconds(10)).until(() -> published.size() == 1);
        await("the mark written away once acknowledged").atMost(Duration.ofSeconds(10)).until(() -> !journaled.get("c1").outcomeUnacknowledged());

        restart();
        reconciler.resyncNow();

        assertThat(published).singleElement().satisfies(o -> assertThat(o.trigger()).isEqualTo("policy-update"));
    }
}
