package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.policy.PolicyParser;
import dev.netfence.rules.BigPlans;
import dev.netfence.rules.PlannedRules;
import dev.netfence.rules.RulePlanner;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** RenderedGuards: a plan is rendered once, and the canonical body gives exactly the listing a full render gives. */
class RenderedGuardsTest {
    private final GuardRenderer renderer = new GuardRenderer();

    @Test
    void aPlanSeenBeforeIsNotRenderedAgainAndAnEqualPlanSharesItsRendering() {
        RenderedGuards rendered = new RenderedGuards(renderer);
        RenderedGuards.Rendered first = rendered.of(plan());
        assertThat(rendered.of(plan())).as("an equal plan, another instance").isSameAs(first);
        assertThat(first.body()).isEqualTo(renderer.rules(plan()));
        assertThat(rendered.of(new RulePlanner().quarantine())).isNotSameAs(first);
    }

    @Test
    void theListingFromTheCanonicalBodyIsTheListingOfTheFullRenderWhoseSetsAreSorted() {
        RenderedGuards.Rendered r = new RenderedGuards(renderer).of(plan());
        GuardChain chain = new GuardChain("veth9", 19, "c9");
        String listing = renderer.listing(chain, r.body());
        assertThat(renderer.listingOfCanonical(chain, r.canonicalBody())).isEqualTo(listing);
        assertThat(r.body()).as("the plan folds endpoints into sets whose order the canonical form changes")
                .anyMatch(line -> line.contains(" . tcp dport { ") && !line.equals(GuardRenderer.canonical(line)));
    }

    @Test
    void aChurnOfDistinctLargePlansKeepsAtMostTheRuleBudgetRenderedAndAnOrdinaryPlanUsedMeanwhileStaysRendered() {
        RenderedGuards rendered = new RenderedGuards(renderer);
        RenderedGuards.Rendered first = rendered.of(plan());
        long rules = 0;

        // a tenant's hostname answering 4,000 new addresses at each resync: about 8,000 rules a plan
        for (int round = 0; round < 9; round++) {
            PlannedRules big = BigPlans.planned(round, 4_000);
            rules += big.ruleCount();
            rendered.of(big);
            assertThat(rendered.of(plan())).as("round %d", round).isSameAs(first);
            assertThat(rendered.heldRules()).as("round %d", round).isLessThanOrEqualTo(RenderedGuards.MAX_RULES);
        }

        assertThat(rules).as("the churn is past the budget").isGreaterThan(RenderedGuards.MAX_RULES);
    }

    private static PlannedRules plan() {
        // endpoints given in descending order, so a set's canonical (sorted) form differs from the written one
        String policy = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.51.100.9:9443\","
                + "\"198.51.100.7:8443\",\"198.51.100.5:7443\"],\"blockedSubnets\":[\"10.0.0.0/8\"],\"dns\":false,"
                + "\"outbound\":false,\"inbound\":false}";
        return new RulePlanner().plan(new PolicyParser().parse(policy.getBytes(StandardCharsets.UTF_8)), Map.of(), List.of());
    }
}
