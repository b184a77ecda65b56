package dev.netfence.policy.store;

import dev.netfence.policy.NetworkPolicy;
import java.util.List;
import java.util.Objects;

/**
 * What a {@link PolicyStore} holds for one task: a validated policy, or the reasons the stored
 * document is not one (which the pipeline reports as INVALID_POLICY, never as a missing policy).
 */
public sealed interface StoredPolicy {

    record Valid(NetworkPolicy policy) implements StoredPolicy {
        public Valid {
            Objects.requireNonNull(policy, "policy");
        }
    }

    record Invalid(List<String> reasons) implements StoredPolicy {
        public Invalid {
            reasons = List.copyOf(reasons);
        }
    }
}
