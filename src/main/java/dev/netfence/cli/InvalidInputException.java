package dev.netfence.cli;

/**
 * The operator gave something the command cannot use (an unreadable time, a policy that fails
 * validation, a task that has no policy). {@link OpsOptions#execute} turns it into exit code 1
 * and one line on stderr; anything else that goes wrong at run time is exit code 3.
 */
public final class InvalidInputException extends RuntimeException {

    public InvalidInputException(String message) {
        super(message);
    }

    public InvalidInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
