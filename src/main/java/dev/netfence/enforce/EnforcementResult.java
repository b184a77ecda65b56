package dev.netfence.enforce;

import java.util.List;
import java.util.Map;

/**
 * What applying one policy achieved, in the terms of the outcome contract (DESIGN.md, "Outcome
 * v1"): the status, the backend and families touched, what hostnames resolved to, which
 * nameservers DNS was opened to, whether the namespace was quarantined, how many attempts it
 * took, and the error when it did not apply.
 *
 * @param status "applied", "failed" or "skipped"
 * @param backend "iptables-nft" or "iptables-legacy" (null when nothing was touched)
 * @param families "ipv4" and/or "ipv6"
 * @param error null when applied
 */
public record EnforcementResult(
        String status,
        String policyDigest,
        String mode,
        String backend,
        List<String> families,
        int ruleCount,
        Map<String, List<String>> resolved,
        List<String> nameservers,
        boolean quarantined,
        int attempts,
        ErrorInfo error) {

    public static final String APPLIED = "applied";
    public static final String FAILED = "failed";
    public static final String SKIPPED = "skipped";

    public EnforcementResult {
        if (!APPLIED.equals(status) && !FAILED.equals(status) && !SKIPPED.equals(status)) {
            throw new IllegalArgumentException("status must be applied, failed or skipped, was: " + status);
        }
        families = families == null ? List.of() : List.copyOf(families);
        resolved = resolved == null ? Map.of() : Map.copyOf(resolved);
        nameservers = nameservers == null ? List.of() : List.copyOf(nameservers);
    }

    /** The {@code error} object of an outcome: a stable code, a message, and whether it was retryable. */
    public record ErrorInfo(String code, String message, boolean retryable) {
        public static ErrorInfo of(ErrorCode code, String message) {
            return new ErrorInfo(code.code(), message, code.retryable());
        }
    }
}
