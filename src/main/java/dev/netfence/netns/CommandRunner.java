package dev.netfence.netns;

import java.time.Duration;
import java.util.List;

/**
 * Runs one external program from an argv array, never through a shell, and returns its exit
 * code and output. The only seam between netfence and the host's processes, so unit tests can
 * record what would have run while integration tests run it for real.
 */
public interface CommandRunner {

    /**
     * Runs {@code argv} with {@code stdin} (may be empty) as standard input and waits at most
     * {@code timeout}. A program that cannot be started (missing binary, no permission) raises
     * {@link java.io.IOException}; a timeout kills the process and raises
     * {@link CommandTimeoutException}.
     */
    CommandResult run(List<String> argv, byte[] stdin, Duration timeout)
            throws java.io.IOException, CommandTimeoutException, InterruptedException;
}
