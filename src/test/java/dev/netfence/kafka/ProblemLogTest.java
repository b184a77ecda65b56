package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import dev.netfence.core.EnforcementResult;
import dev.netfence.core.ErrorCode;
import dev.netfence.event.Outcome;
import dev.netfence.event.Outcomes;
import dev.netfence.testkit.CapturedLogs;
import dev.netfence.testkit.MutableClock;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ProblemLogTest {
    private final MutableClock steady = new MutableClock(Instant.parse("2026-12-08T01:00:00Z"));
    private final Outcomes outcomes = new Outcomes(steady, "node-1/1", "test");

    @Test
    void aFailedOutcomeIsLoggedWithItsRecordContainerCodeAndMessageAndAnAppliedOneIsNot() {
        Outcome failed = outcomes.oneOff("c-1", EnforcementResult.failure(ErrorCode.POLICY_NOT_FOUND,
                "no policy for task t-1 after 30s").quarantined(true).build(), steady.instant());
        Outcome applied = outcomes.oneOff("c-2", EnforcementResult.applied().build(), steady.instant());

        try (CapturedLogs logs = CapturedLogs.of(ProblemLog.class)) {
            ProblemLog log = new ProblemLog(steady);
            log.outcome(applied, "events", 0, 6);
            log.outcome(failed, "events", 3, 7);

            assertThat(logs.messages(Level.WARN)).containsExactly("event null of container c-1 (task null, record"
                    + " events-3@7) failed, quarantined: POLICY_NOT_FOUND no policy for task t-1 after 30s");
        }
    }

    @Test
    void aDeadLetterIsLoggedWithTheContainerWhereTheRecordNamedOne() {
        try (CapturedLogs logs = CapturedLogs.of(ProblemLog.class)) {
            ProblemLog log = new ProblemLog(steady);
            log.deadLettered("events", 1, 42, "MALFORMED_EVENT", "not JSON", null);
            log.deadLettered("events", 1, 43, "INVALID_EVENT", "pid must be positive", "c-9");

            assertThat(logs.messages(Level.WARN)).containsExactly(
                    "record events-1@42 dead-lettered: MALFORMED_EVENT not JSON",
                    "record events-1@43 dead-lettered (container c-9): INVALID_EVENT pid must be positive");
        }
    }

    @Test
    void aFloodIsCutAtTheBurstAndTheNextWindowSaysHowManyWereLeftOut() {
        try (CapturedLogs logs = CapturedLogs.of(ProblemLog.class)) {
            ProblemLog log = new ProblemLog(steady);
            for (int i = 0; i < ProblemLog.BURST + 30; i++) {
                log.deadLettered("events", 0, i, "MALFORMED_EVENT", "not JSON", null);
            }
            assertThat(logs.messages(Level.WARN)).hasSize(ProblemLog.BURST);

            steady.advance(ProblemLog.WINDOW.minus(Duration.ofMillis(1)));
            log.deadLettered("events", 0, 1000, "MALFORMED_EVENT", "not JSON", null);
            assertThat(logs.messages(Level.WARN)).as("still the same window").hasSize(ProblemLog.BURST);

            steady.advance(Duration.ofMillis(1));
            log.deadLettered("events", 0, 1001, "MALFORMED_EVENT", "not JSON", null);

            assertThat(logs.messages(Level.WARN)).hasSize(ProblemLog.BURST + 2).endsWith(
                    "31 more failed events or dead letters were not logged in the last 60 s (at most 20 lines a window;"
                            + " netfence_outcomes_total and netfence_dlq_records_total count them all)",
                    "record events-0@1001 dead-lettered: MALFORMED_EVENT not JSON");
        }
    }
}
