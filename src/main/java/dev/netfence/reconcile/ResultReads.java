package dev.netfence.reconcile;

import dev.netfence.core.EnforcementResult;
import dev.netfence.core.EnforcementTarget;
import dev.netfence.core.ErrorCode;
import dev.netfence.netns.NamespaceId;
import java.util.EnumSet;
import java.util.Set;

/**
 * What the reconciler reads from an enforcement result, the same way wherever it records one
 * ({@link StartRecords} for an event's, {@link Corrections} for a correction's): whether the
 * policy was applied, whether the container cannot be reached any more, and the namespace the
 * result's target names.
 */
final class ResultReads {
    /** Results that mean the container cannot be reached any more: release it. */
    static final Set<ErrorCode> GONE = EnumSet.of(ErrorCode.CONTAINER_NOT_FOUND, ErrorCode.NAMESPACE_MISMATCH,
            ErrorCode.HOST_NAMESPACE_REFUSED);

    private ResultReads() {}

    static boolean applied(EnforcementResult r) {
        return EnforcementResult.APPLIED.equals(r.status());
    }

    /** Whether {@code r} says the container cannot be reached any more. */
    static boolean isGone(EnforcementResult r) {
        return r.error() != null && GONE.stream().anyMatch(code -> code.code().equals(r.error().code()));
    }

    static NamespaceId netns(EnforcementTarget t) {
        return new NamespaceId(t.netnsDevice(), t.netnsInode());
    }
}
