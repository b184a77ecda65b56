package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyDigest;
import dev.netfence.policy.PolicyParser;
import dev.netfence.rules.BigPlans;
import dev.netfence.rules.PlannedRules;
import dev.netfence.rules.RulePlanner;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class PlanCacheTest {
    private static final String POLICY = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":"
            + "[\"198.51.100.7:443\",\"[2001:db8::7]:443\"],\"dns\":true}";

    private final PlanCache cache = new PlanCache();
    private final RulePlanner planner = new RulePlanner();
    private final AtomicInteger planned = new AtomicInteger();

    private static NetworkPolicy policy() {
        return new PolicyParser().parse(POLICY.getBytes(StandardCharsets.UTF_8));
    }

    private PlannedRules plan(NetworkPolicy policy, List<InetAddress> nameservers) {
        return cache.plan(policy, Map.of(), nameservers, () -> {
            planned.incrementAndGet();
            return planner.plan(policy, Map.of(), nameservers);
        });
    }

    @Test
    void anEqualPolicyWithTheSameNameserversIsPlannedOnceAndGivesTheSamePlan() throws Exception {
        List<InetAddress> ns = List.of(InetAddress.getByName("198.51.100.53"));
        PlannedRules first = plan(policy(), ns);
        PlannedRules second = plan(policy(), ns);
        assertThat(second).isSameAs(first);
        assertThat(first).isEqualTo(planner.plan(policy(), Map.of(), ns));
        assertThat(planned).hasValue(1);
    }

    @Test
    void otherNameserversAreAnotherPlan() throws Exception {
        PlannedRules a = plan(policy(), List.of(InetAddress.getByName("198.51.100.53")));
        PlannedRules b = plan(policy(), List.of(InetAddress.getByName("198.51.100.54")));
        assertThat(b.digest()).isNotEqualTo(a.digest());
        assertThat(planned).hasValue(2);
    }

    @Test
    void theRememberedDigestIsThePolicyDigest() {
        assertThat(cache.digest(policy())).isEqualTo(PolicyDigest.of(policy()));
        assertThat(cache.digest(policy())).isEqualTo(PolicyDigest.of(policy()));
    }

    @Test
    void aChurnOfDistinctLargePlansKeepsEachLevelUnderItsRuleBudgetAndAnOrdinaryPolicyIsStillPlannedOnce()
            throws Exception {
        List<InetAddress> ns = List.of(InetAddress.getByName("198.51.100.53"));
        NetworkPolicy ordinary = policy();
        PlannedRules first = plan(ordinary, ns);

        // each round an answer set never seen before: a new key, a new plan of 4,096 rules (not the planner's: cheap)
        for (int round = 0; round < 100; round++) {
            int r = round;
            Map<String, List<InetAddress>> resolved = Map.of("big.tenant.example", BigPlans.addresses(r, 1));
            cache.plan(BigPlans.POLICY, resolved, ns, () -> BigPlans.synthetic(r, 4_096));
            assertThat(plan(ordinary, ns)).as("round %d", round).isSameAs(first);
            long[] held = cache.heldRules();
            assertThat(held[0]).as("by identity, round %d", round).isLessThanOrEqualTo(PlanCache.MAX_RULES_BY_IDENTITY);
            assertThat(held[1]).as("by value, round %d", round).isLessThanOrEqualTo(PlanCache.MAX_RULES_BY_VALUE);
        }

        assertThat(planned).hasValue(1);
    }
}
