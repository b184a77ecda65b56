package dev.netfence.core;

/**
 * The stable error codes of the outcome contract (docs/contracts.md, "Error codes"). Each code says
 * whether the enforcer retries it; the wire form is always {@link #code()}, never an ordinal.
 */
public enum ErrorCode {
    MALFORMED_EVENT(false),
    INVALID_EVENT(false),
    POLICY_NOT_FOUND(false),
    INVALID_POLICY(false),
    CONTAINER_NOT_FOUND(false),
    NAMESPACE_MISMATCH(false),
    HOST_NAMESPACE_REFUSED(false),
    RESOLUTION_FAILED(true),
    LOCK_CONTENDED(true),
    RULES_REJECTED(false),
    FIREWALL_UNAVAILABLE(false),
    VERIFY_FAILED(true),
    TIMEOUT(false),
    /** An anticipated internal failure netfence detects itself (interrupted, own namespace unreadable, ...). */
    INTERNAL(false),
    /** Another container owns the namespace with a different policy; nothing was changed (issue 12 item 8). */
    NAMESPACE_SHARED(false),
    /** The container holds a capability {@code --refuse-capabilities} names; quarantined (issue 12 item 9). */
    UNSAFE_CAPABILITIES(false),
    /** {@code --host-guard required} and the container has no host side netfence can guard (issue 14). */
    HOST_GUARD_UNAVAILABLE(false),
    /**
     * An unexpected {@link Throwable} (a bug, an {@link Error} such as OutOfMemoryError) escaped the
     * apply and was caught at the event boundary; the container was quarantined when possible.
     * Before this code existed such failures of a RuntimeException were reported as INTERNAL.
     */
    INTERNAL_ERROR(false),
    /**
     * Another container sharing the namespace is quarantined for its own failure; the quarantine,
     * which is the whole namespace's, stays in force and this container is quarantined with it.
     * Not retried at once; the reconciler retries it at each resync.
     */
    NAMESPACE_QUARANTINED(false);

    private final boolean retryable;

    ErrorCode(boolean retryable) {
        this.retryable = retryable;
    }

    /** Whether the enforcer retries a failure with this code before giving up. */
    public boolean retryable() {
        return retryable;
    }

    /** The string written to outcomes, DLQ headers and logs. */
    public String code() {
        return name();
    }
}
