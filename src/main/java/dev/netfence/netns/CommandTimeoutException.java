package dev.netfence.netns;

import java.util.List;

/** A command ran past its timeout and was killed. */
public final class CommandTimeoutException extends Exception {
    public CommandTimeoutException(List<String> argv, java.time.Duration timeout) {
        super("command timed out after " + timeout.toMillis() + " ms: " + String.join(" ", argv));
    }
}
