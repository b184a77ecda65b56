package dev.netfence.core;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What applying one policy achieved, in the terms of the outcome contract (docs/contracts.md,
 * "Outcome v1"): the status, the backend and families touched, what hostnames resolved to, which
 * trusted resolvers DNS was opened to, the warnings, whether the namespace was quarantined, how many attempts it
 * took, and the error when it did not apply. Built by the named factories: {@link #applied()}
 * for a success, {@link #failure(ErrorCode, String)} / {@link #skip(ErrorCode, String)} for the
 * others (each a {@link Builder} for the details), or {@link #failed(ErrorCode, String)} when
 * nothing was touched. Immutable; a new outcome field is one builder method, not a new
 * positional argument at every call site.
 */
public final class EnforcementResult {
    public static final String APPLIED = "applied";
    public static final String FAILED = "failed";
    public static final String SKIPPED = "skipped";

    private final String status;
    private final String policyDigest;
    private final String mode;
    private final String backend;
    private final List<String> families;
    private final int ruleCount;
    private final Map<String, List<String>> resolved;
    private final List<String> nameservers;
    private final List<String> risks;
    private final List<String> warnings;
    private final boolean quarantined;
    private final List<String> guards;
    private final int attempts;
    private final ErrorInfo error;
    private final EnforcementTarget target;
    private final String drift;

    private EnforcementResult(Builder b) {
        this.status = b.status;
        this.policyDigest = b.policyDigest;
        this.mode = b.mode;
        this.backend = b.backend;
        this.families = List.copyOf(b.families);
        this.ruleCount = b.ruleCount;
        this.resolved = Map.copyOf(b.resolved);
        this.nameservers = List.copyOf(b.nameservers);
        this.risks = List.copyOf(b.risks);
        this.warnings = List.copyOf(b.warnings);
        this.quarantined = b.quarantined;
        this.guards = List.copyOf(b.guards);
        this.attempts = b.attempts;
        this.error = b.error;
        this.target = b.target;
        this.drift = b.drift;
    }

    /** A success: status {@code applied}, no error. */
    public static Builder applied() {
        return new Builder(APPLIED, null);
    }

    /** A failure (status {@code failed}) with its error; add what was touched (e.g. a quarantine). */
    public static Builder failure(ErrorCode code, String message) {
        return new Builder(FAILED, ErrorInfo.of(code, message));
    }

    /** Nothing to enforce (status {@code skipped}, e.g. the container is gone), with the reason. */
    public static Builder skip(ErrorCode code, String message) {
        return new Builder(SKIPPED, ErrorInfo.of(code, message));
    }

    /** A failure that touched nothing: no digest, backend, families or quarantine. */
    public static EnforcementResult failed(ErrorCode code, String message) {
        return failure(code, message).build();
    }

    /** A builder holding every value of this result, to derive a changed copy. */
    public Builder toBuilder() {
        Builder b = new Builder(status, error);
        b.policyDigest = policyDigest;
        b.mode = mode;
        b.backend = backend;
        b.families = families;
        b.ruleCount = ruleCount;
        b.resolved = resolved;
        b.nameservers = nameservers;
        b.risks = risks;
        b.warnings = warnings;
        b.quarantined = quarantined;
        b.guards = guards;
        b.attempts = attempts;
        b.target = target;
        b.drift = drift;
        return b;
    }

    /** "applied", "failed" or "skipped". */
    public String status() {
        return status;
    }

    public String policyDigest() {
        return policyDigest;
    }

    public String mode() {
        return mode;
    }

    /** The backend that wrote the rules (e.g. "iptables-nft"); null when nothing was touched. */
    public String backend() {
        return backend;
    }

    /** "ipv4" and/or "ipv6". */
    public List<String> families() {
        return families;
    }

    public int ruleCount() {
        return ruleCount;
    }

    public Map<String, List<String>> resolved() {
        return resolved;
    }

    public List<String> nameservers() {
        return nameservers;
    }

    /**
     * What the container could do to get around its rules, seen when it was pinned: a sorted
     * subset of {@code CAP_NET_ADMIN}, {@code CAP_NET_RAW} (in any capability set of any of its threads).
     */
    public List<String> risks() {
        return risks;
    }

    /** What the applied rules deliberately leave out that an operator should know (docs/contracts.md, "Outcome v1"). */
    public List<String> warnings() {
        return warnings;
    }

    public boolean quarantined() {
        return quarantined;
    }

    /**
     * Which guards hold the rules in force: {@code "netns"} (the rules inside the container's
     * namespace) and {@code "host"} (the host guard on the host side of its interface); empty
     * when nothing was enforced.
     */
    public List<String> guards() {
        return guards;
    }

    public int attempts() {
        return attempts;
    }

    /** Null when applied. */
    public ErrorInfo error() {
        return error;
    }

    /** The pid and namespace written to; null when no namespace was touched (dry run, not found). */
    public EnforcementTarget target() {
        return target;
    }

    /**
     * For a reconciliation ({@code Enforcer.reconcile}): what the read-back showed differing from
     * the plan before it was repaired; null when it matched (or for a plain apply).
     */
    public String drift() {
        return drift;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EnforcementResult r && status.equals(r.status) && Objects.equals(policyDigest, r.policyDigest)
                && Objects.equals(mode, r.mode) && Objects.equals(backend, r.backend) && families.equals(r.families)
                && ruleCount == r.ruleCount && resolved.equals(r.resolved) && nameservers.equals(r.nameservers)
                && risks.equals(r.risks) && warnings.equals(r.warnings) && quarantined == r.quarantined && guards.equals(r.guards) && attempts == r.attempts
                && Objects.equals(error, r.error) && Objects.equals(target, r.target) && Objects.equals(drift, r.drift);
    }

    @Override
    public int hashCode() {
        return Objects.hash(status, policyDigest, mode, backend, families, ruleCount, resolved, nameservers, risks,
                warnings, quarantined, guards, attempts, error, target, drift);
    }

    @Override
    public String toString() {
        return "EnforcementResult[status=" + status + ", policyDigest=" + policyDigest + ", mode=" + mode
                + ", backend=" + backend + ", families=" + families + ", ruleCount=" + ruleCount + ", resolved="
                + resolved + ", nameservers=" + nameservers + ", risks=" + risks + ", warnings=" + warnings + ", quarantined=" + quarantined + ", guards=" + guards
                + ", attempts="
                + attempts + ", error=" + error + ", target=" + target + ", drift=" + drift + "]";
    }

    /** The {@code error} object of an outcome: a stable code, a message, and whether it was retryable. */
    public record ErrorInfo(String code, String message, boolean retryable) {
        public static ErrorInfo of(ErrorCode code, String message) {
            return new ErrorInfo(code.code(), message, code.retryable());
        }
    }

    /** Collects the details of one result; {@link #build()} checks them. Not thread-safe. */
    public static final class Builder {
        private final String status;
        private final ErrorInfo error;
        private String policyDigest;
        private String mode;
        private String backend;
        private List<String> families = List.of();
        private int ruleCount;
        private Map<String, List<String>> resolved = Map.of();
        private List<String> nameservers = List.of();
        private List<String> risks = List.of();
        private List<String> warnings = List.of();
        private boolean quarantined;
        private List<String> guards = List.of();
        private int attempts;
        private EnforcementTarget target;
        private String drift;

        private Builder(String status, ErrorInfo error) {
            this.status = status;
            this.error = error;
        }

        public Builder policyDigest(String value) {
            this.policyDigest = value;
            return this;
        }

        /** Where the rules were written (see {@link EnforcementResult#target()}). */
        public Builder target(EnforcementTarget value) {
            this.target = value;
            return this;
        }

        /** What a reconciliation found differing and repaired (see {@link EnforcementResult#drift()}). */
        public Builder drift(String value) {
            this.drift = value;
            return this;
        }

        public Builder mode(String value) {
            this.mode = value;
            return this;
        }

        public Builder backend(String value) {
            this.backend = value;
            return this;
        }

        public Builder families(List<String> value) {
            this.families = value == null ? List.of() : value;
            return this;
        }

        public Builder ruleCount(int value) {
            if (value < 0) {
                throw new IllegalArgumentException("ruleCount must be at least 0, was: " + value);
            }
            this.ruleCount = value;
            return this;
        }

        public Builder resolved(Map<String, List<String>> value) {
            this.resolved = value == null ? Map.of() : value;
            return this;
        }

        public Builder nameservers(List<String> value) {
            this.nameservers = value == null ? List.of() : value;
            return this;
        }

        public Builder risks(List<String> value) {
            this.risks = value == null ? List.of() : value;
            return this;
        }

        public Builder warnings(List<String> value) {
            this.warnings = value == null ? List.of() : value;
            return this;
        }

        public Builder quarantined(boolean value) {
            this.quarantined = value;
            return this;
        }

        /** Which guards hold ({@code "netns"}, {@code "host"}); see {@link EnforcementResult#guards()}. */
        public Builder guards(List<String> value) {
            this.guards = value == null ? List.of() : value;
            return this;
        }

        public Builder attempts(int value) {
            if (value < 0) {
                throw new IllegalArgumentException("attempts must be at least 0, was: " + value);
            }
            this.attempts = value;
            return this;
        }

        public EnforcementResult build() {
            return new EnforcementResult(this);
        }
    }
}
