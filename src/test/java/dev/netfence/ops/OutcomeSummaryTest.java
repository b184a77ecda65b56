package dev.netfence.ops;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult.ErrorInfo;
import dev.netfence.core.ErrorCode;
import dev.netfence.event.Outcome;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class OutcomeSummaryTest {

    static Outcome outcome(String container, String status, ErrorCode code, Long latencyMs, int second, boolean replay) {
        return new Outcome(1, "ev-" + container, "task-42", container, "worker-7", status,
                "applied".equals(status) ? "sha256:ab" : null, "bridge", "iptables-nft", List.of("ipv4", "ipv6"),
                "applied".equals(status) ? 17 : 0, null, null, false, 1,
                code == null ? null : ErrorInfo.of(code, "detail of " + container + "\nsecond line"),
                Instant.parse("2026-11-28T15:00:00Z"), Instant.parse("2026-11-28T15:00:00Z").plusSeconds(second),
                latencyMs, replay, replay ? "replay" : "start", new Outcome.EnforcerInfo("worker-7/1", "0.1.0"));
    }

    @Test
    void countsStatusesAndCodesAndComputesNearestRankPercentiles() {
        List<Outcome> outcomes = new ArrayList<>();
        for (int i = 1; i <= 100; i++) {
            outcomes.add(outcome("c" + i, "applied", null, (long) i, i, false));
        }
        outcomes.add(outcome("f1", "failed", ErrorCode.RULES_REJECTED, null, 200, true));
        outcomes.add(outcome("s1", "skipped", ErrorCode.CONTAINER_NOT_FOUND, 5L, 201, false));

        OutcomeSummary summary = OutcomeSummary.of(outcomes, 5);

        assertThat(summary.total()).isEqualTo(102);
        assertThat(summary.statusCounts()).containsExactly(
                java.util.Map.entry("applied", 100), java.util.Map.entry("failed", 1), java.util.Map.entry("skipped", 1));
        assertThat(summary.byErrorCode()).containsOnly(
                java.util.Map.entry("RULES_REJECTED", 1), java.util.Map.entry("CONTAINER_NOT_FOUND", 1));
        assertThat(summary.latency()).isEqualTo(new OutcomeSummary.Latency(101, 50, 95, 99, 100));
        assertThat(summary.replays()).isEqualTo(1);
        assertThat(summary.latestFailures()).extracting(Outcome::containerId).containsExactly("f1");
    }

    @Test
    void keepsOnlyTheNewestFailuresNewestFirst() {
        List<Outcome> outcomes = List.of(
                outcome("old", "failed", ErrorCode.TIMEOUT, 1L, 1, false),
                outcome("newest", "failed", ErrorCode.TIMEOUT, 1L, 30, false),
                outcome("middle", "failed", ErrorCode.TIMEOUT, 1L, 20, false));

        assertThat(OutcomeSummary.of(outcomes, 2).latestFailures())
                .extracting(Outcome::containerId).containsExactly("newest", "middle");
    }

    @Test
    void anEmptyBatchHasZeroCountsForTheKnownStatusesAndNoLatency() {
        OutcomeSummary summary = OutcomeSummary.of(List.of(), 5);

        assertThat(OutcomeTable.summary(summary)).isEqualTo("""
                outcomes: 0
                STATUS   COUNT
                applied  0
                failed   0
                skipped  0

                latency: no outcomes with a latency
                """);
    }

    @Test
    void summaryTableShowsCountsCodesPercentilesAndLatestFailures() {
        List<Outcome> outcomes = List.of(
                outcome("a1", "applied", null, 14L, 1, false),
                outcome("a2", "applied", null, 20L, 2, false),
                outcome("f1", "failed", ErrorCode.RULES_REJECTED, 300L, 3, true),
                outcome("f2", "failed", ErrorCode.POLICY_NOT_FOUND, 30000L, 4, false));

        assertThat(OutcomeTable.summary(OutcomeSummary.of(outcomes, 10))).isEqualTo("""
                outcomes: 4 (1 from replays)
                STATUS   COUNT
                applied  2
                failed   2
                skipped  0

                ERROR CODE        COUNT
                POLICY_NOT_FOUND  1
                RULES_REJECTED    1

                latency ms (4 outcomes): p50 20  p95 30000  p99 30000  max 30000

                latest failures:
                  2026-11-28T15:00:04.000Z  POLICY_NOT_FOUND  worker-7/task-42/f2: detail of f2 second line
                  2026-11-28T15:00:03.000Z  RULES_REJECTED  worker-7/task-42/f1: detail of f1 second line
                """);
    }

    @Test
    void rowsAreAlignedUnderAHeader() {
        List<Outcome> outcomes = List.of(
                outcome("a1", "applied", null, 14L, 1, false),
                outcome("container-long", "failed", ErrorCode.TIMEOUT, null, 2, true));

        assertThat(OutcomeTable.rows(outcomes)).isEqualTo("""
                FINISHED                  STATUS   CODE     NODE      TASK     CONTAINER       LATENCY  TRIES  REPLAY
                2026-11-28T15:00:01.000Z  applied  -        worker-7  task-42  a1              14ms     1      no
                2026-11-28T15:00:02.000Z  failed   TIMEOUT  worker-7  task-42  container-long  -        1      yes
                """);
    }
    @Test
    void aMessageOrIdCarryingTerminalControlsIsPrintedEscaped() {
        Outcome hostile = new Outcome(1, "ev-x", "task-42", "c\u001b]0;owned\u0007", "worker-7", "failed", null, "bridge",
                "nft", List.of("ipv4", "ipv6"), 0, null, null, false, 1,
                ErrorInfo.of(ErrorCode.HOST_GUARD_UNAVAILABLE, "--host-guard required, but the container's interfaces"
                        + " [\u001b[2Jeth\\1] reach outside its namespace\r\nFAKE LINE"),
                Instant.parse("2026-11-28T15:00:00Z"), Instant.parse("2026-11-28T15:00:05Z"), 5L, false, "start",
                new Outcome.EnforcerInfo("worker-7/1", "0.1.0"));

        String summary = OutcomeTable.summary(OutcomeSummary.of(List.of(hostile), 10));
        Outcome oddStatus = new Outcome(1, "ev-y", "task-42", "c2", "worker-7", "applied\u001b[8m", null, "bridge", "nft",
                List.of("ipv4", "ipv6"), 0, null, null, false, 1, null, Instant.parse("2026-11-28T15:00:00Z"),
                Instant.parse("2026-11-28T15:00:05Z"), 5L, false, "start", new Outcome.EnforcerInfo("worker-7/1", "0.1.0"));
        String rows = OutcomeTable.rows(List.of(hostile, oddStatus))
                + OutcomeTable.summary(OutcomeSummary.of(List.of(oddStatus), 10));

        assertThat(summary + rows).doesNotContain("\u001b", "\u0007", "\r");
        assertThat(summary).contains("worker-7/task-42/c\\x1b]0;owned\\x07: --host-guard required, but the container's"
                + " interfaces [\\x1b[2Jeth\\x5c1] reach outside its namespace FAKE LINE\n");
        assertThat(rows).contains("  c\\x1b]0;owned\\x07  ").contains("applied\\x1b[8m");
    }
}
