package dev.netfence.nft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.rules.BigPlans;
import dev.netfence.rules.PlannedRules;
import org.junit.jupiter.api.Test;

class RenderedPlansTest {
    private final NftRenderer renderer = new NftRenderer();
    private final RenderedPlans rendered = new RenderedPlans(renderer);

    @Test
    void aPlanIsRenderedOnceAndItsTextAndExpectedRulesAreExactlyTheRenderersOwn() throws Exception {
        PlannedRules plan = NftRendererTest.plan(NftRendererTest.BRIDGE + "}");

        RenderedPlans.Rendered first = rendered.of(plan);

        assertThat(first.transaction()).isEqualTo(renderer.render(plan));
        assertThat(first.expected()).isEqualTo(renderer.expected(plan));
        assertThat(rendered.of(plan)).as("the same instance again").isSameAs(first);
        assertThat(rendered.of(NftRendererTest.plan(NftRendererTest.BRIDGE + "}"))).as("an equal plan").isSameAs(first);
    }

    @Test
    void aDifferentPlanUnderTheSameDigestGetsItsOwnTextNeverTheRememberedOne() throws Exception {
        // both plans carry the test's pinned digest: only their rules differ
        PlannedRules bridge = NftRendererTest.plan(NftRendererTest.BRIDGE + "}");
        PlannedRules quarantine = NftRendererTest.plan(null);
        assertThat(bridge.digest()).isEqualTo(quarantine.digest());

        RenderedPlans.Rendered other = rendered.of(quarantine);

        assertThat(other.transaction()).isEqualTo(renderer.render(quarantine)).isNotEqualTo(renderer.render(bridge));
        assertThat(other.expected()).isEqualTo(renderer.expected(quarantine));
        assertThat(other.reference()).as("the table learnt for the other plan is not this plan's")
                .isNotSameAs(rendered.of(bridge).reference());
        assertThat(other.reference().get()).as("nothing learnt yet").isNull();
        assertThat(rendered.of(bridge).transaction()).isEqualTo(renderer.render(bridge));
    }

    @Test
    void aChurnOfDistinctLargePlansKeepsAtMostTheRuleBudgetRenderedAndAnOrdinaryPlanUsedMeanwhileStaysRendered()
            throws Exception {
        PlannedRules ordinary = NftRendererTest.plan(NftRendererTest.BRIDGE + "}");
        RenderedPlans.Rendered first = rendered.of(ordinary);
        int rules = 0;

        // a tenant's hostname answering 1,000 new addresses at each resync: about 2,000 rules a plan
        for (int round = 0; round < 12; round++) {
            PlannedRules big = BigPlans.planned(round, 1_000);
            rules += big.ruleCount();
            rendered.of(big);
            assertThat(rendered.of(ordinary)).as("round %d", round).isSameAs(first);
            assertThat(rendered.heldRules()).as("round %d", round).isLessThanOrEqualTo(RenderedPlans.MAX_RULES);
        }

        assertThat(rules).as("the churn is well past the budget").isGreaterThan(2 * (int) RenderedPlans.MAX_RULES - 10_000);
    }
}
