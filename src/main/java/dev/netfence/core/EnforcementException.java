package dev.netfence.core;

import java.util.Objects;

/**
 * A failure of one step of the apply pipeline, already sorted into an {@link ErrorCode}. Whether
 * it is retried follows from the code, so callers never inspect messages to decide.
 */
public final class EnforcementException extends RuntimeException {
    private final ErrorCode code;

    public EnforcementException(ErrorCode code, String message) {
        this(code, message, null);
    }

    public EnforcementException(ErrorCode code, String message, Throwable cause) {
        super(message, cause);
        this.code = Objects.requireNonNull(code, "code");
    }

    public ErrorCode code() {
        return code;
    }

    public boolean retryable() {
        return code.retryable();
    }
}
