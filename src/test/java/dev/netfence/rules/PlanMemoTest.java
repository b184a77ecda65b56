package dev.netfence.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** PlanMemo: made once per plan, never handed to another plan under the same digest, bounded by recent use and by rules. */
class PlanMemoTest {
    private final List<PlannedRules> made = new ArrayList<>();
    private final PlanMemo<String> memo = new PlanMemo<>(2, 1_000, plan -> {
        made.add(plan);
        return "made " + made.size();
    });

    @Test
    void aPlanSeenBeforeOrAnEqualOneIsNotMadeAgain() {
        PlannedRules plan = new RulePlanner().quarantine();
        assertThat(memo.of(plan)).isEqualTo("made 1");
        assertThat(memo.of(plan)).isEqualTo("made 1");
        assertThat(memo.of(new RulePlanner().quarantine())).as("an equal plan").isEqualTo("made 1");
        assertThat(made).hasSize(1);
    }

    @Test
    void anotherPlanUnderTheSameDigestIsMadeForItselfNeverGivenTheRememberedValue() {
        PlannedRules quarantine = new RulePlanner().quarantine();
        PlannedRules other = new PlannedRules(Map.of(), quarantine.digest(), List.of());
        assertThat(memo.of(quarantine)).isEqualTo("made 1");
        assertThat(memo.of(other)).isEqualTo("made 2");
        assertThat(memo.of(quarantine)).isEqualTo("made 3");
    }

    @Test
    void pastTheLimitTheLeastRecentlyUsedPlanIsForgottenAndALimitBelowOneIsRefused() {
        PlannedRules quarantine = new RulePlanner().quarantine();
        PlannedRules one = new PlannedRules(Map.of(), "sha256:" + "1".repeat(64), List.of());
        PlannedRules two = new PlannedRules(Map.of(), "sha256:" + "2".repeat(64), List.of());
        memo.of(quarantine);
        memo.of(one);
        memo.of(quarantine); // used again: now the most recent

        memo.of(two); // past the limit of 2: "one" goes

        assertThat(memo.of(quarantine)).as("kept").isEqualTo("made 1");
        assertThat(memo.of(one)).as("forgotten, made again").isEqualTo("made 4");
        assertThat(made).hasSize(4);
        assertThatThrownBy(() -> new PlanMemo<>(0, 1_000, plan -> plan)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("limit must be at least 1, was: 0");
    }

    @Test
    void aChurnOfDistinctLargePlansKeepsTheRememberedRulesUnderTheBudgetAndASmallPlanUsedMeanwhileIsNotMadeAgain() {
        List<PlannedRules> makes = new ArrayList<>();
        PlanMemo<String> bounded = new PlanMemo<>(1024, 10_000, plan -> {
            makes.add(plan);
            return "made " + makes.size();
        });
        PlannedRules small = new RulePlanner().quarantine();
        String first = bounded.of(small);

        for (int round = 0; round < 50; round++) {
            bounded.of(BigPlans.synthetic(round, 3_000));
            assertThat(bounded.of(small)).as("round %d", round).isEqualTo(first);
            assertThat(bounded.heldRules()).as("round %d", round).isLessThanOrEqualTo(10_000);
        }

        assertThat(makes).filteredOn(p -> p == small).hasSize(1);
        assertThat(bounded.size()).as("the small plan and three large ones").isEqualTo(4);
    }
}
