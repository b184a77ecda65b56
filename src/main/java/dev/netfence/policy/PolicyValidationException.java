package dev.netfence.policy;

import java.util.List;

/**
 * A policy document failed validation. Carries every reason found (not just the first), each
 * naming the field and the bad value, e.g.
 * {@code allowedEndpoints[2]: invalid port "99999" in "1.2.3.4:99999" (expected 1-65535)}.
 * Maps to the INVALID_POLICY error code; never retryable.
 */
public final class PolicyValidationException extends RuntimeException {
    private final List<String> reasons;

    public PolicyValidationException(List<String> reasons) {
        super(String.join("; ", reasons));
        if (reasons.isEmpty()) {
            throw new IllegalArgumentException("a validation failure needs at least one reason");
        }
        this.reasons = List.copyOf(reasons);
    }

    /** Every reason, in document order. */
    public List<String> reasons() {
        return reasons;
    }
}
