package dev.netfence.policy.store;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PolicyStoreTest {

    @Test
    void validPolicyGivesAValidStoredPolicyAndNothingForAnInvalidOrMissingOne() {
        InMemoryPolicyStore store = new InMemoryPolicyStore()
                .put("task-a", FakePolicies.OPEN)
                .putInvalid("task-b", "mode host is refused");

        assertThat(store.validPolicy("task-a")).contains(FakePolicies.OPEN);
        assertThat(store.validPolicy("task-b")).isEmpty();
        assertThat(store.validPolicy("task-c")).isEmpty();
    }
}
