package dev.netfence.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** RuleBoundedLru: bounded by entries and by the rules its values weigh, the least recently used going first. */
class RuleBoundedLruTest {
    private final RuleBoundedLru<String, Integer> lru = new RuleBoundedLru<>(4, 100, weight -> weight);

    @Test
    void pastTheRuleBudgetTheLeastRecentlyUsedGoUntilTheHeldRulesFitAgain() {
        lru.put("a", 40);
        lru.put("b", 40);
        lru.get("a"); // used again: now the most recent
        lru.put("c", 50); // 130 rules: "b" goes, then 90 fit

        assertThat(lru.get("b")).isNull();
        assertThat(lru.get("a")).isEqualTo(40);
        assertThat(lru.get("c")).isEqualTo(50);
        assertThat(lru.heldRules()).isEqualTo(90);
        assertThat(lru.size()).isEqualTo(2);
    }

    @Test
    void pastTheEntryLimitTheLeastRecentlyUsedGoesAsBefore() {
        for (String key : new String[] {"a", "b", "c", "d", "e"}) {
            lru.put(key, 1);
        }

        assertThat(lru.get("a")).isNull();
        assertThat(lru.size()).isEqualTo(4);
        assertThat(lru.heldRules()).isEqualTo(4);
    }

    @Test
    void aValueReplacedIsWeighedOnceAndOneHeavierThanTheWholeBudgetIsNotKept() {
        lru.put("a", 30);
        lru.put("a", 60);
        assertThat(lru.heldRules()).isEqualTo(60);

        lru.put("huge", 101);

        assertThat(lru.get("huge")).isNull();
        assertThat(lru.size()).isZero();
        assertThat(lru.heldRules()).isZero();
    }

    @Test
    void boundsBelowOneAreRefused() {
        assertThatThrownBy(() -> new RuleBoundedLru<String, Integer>(0, 1, w -> w))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("maxEntries must be at least 1, was: 0");
        assertThatThrownBy(() -> new RuleBoundedLru<String, Integer>(1, 0, w -> w))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("maxRules must be at least 1, was: 0");
    }
}
