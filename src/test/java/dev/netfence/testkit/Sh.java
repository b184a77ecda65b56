package dev.netfence.testkit;

import dev.netfence.netns.CommandResult;
import dev.netfence.netns.ProcessCommandRunner;
import java.time.Duration;
import java.util.List;

/** Runs test setup commands (argv, no shell) through the real runner and fails loudly on error. */
public final class Sh {
    private static final ProcessCommandRunner RUNNER = new ProcessCommandRunner();

    private Sh() {}

    /** Runs argv; returns the result whatever the exit code. */
    public static CommandResult run(String... argv) {
        return run(new byte[0], argv);
    }

    public static CommandResult run(byte[] stdin, String... argv) {
        try {
            return RUNNER.run(List.of(argv), stdin, Duration.ofSeconds(60));
        } catch (Exception e) {
            throw new IllegalStateException("cannot run " + String.join(" ", argv) + ": " + e, e);
        }
    }

    /** Runs argv and returns stdout; throws when it exits non-zero. */
    public static String ok(String... argv) {
        CommandResult r = run(argv);
        if (!r.ok()) {
            throw new IllegalStateException(String.join(" ", argv) + " exited " + r.exitCode() + ": " + r.stderr());
        }
        return r.stdout();
    }

    public static String ok(byte[] stdin, String... argv) {
        CommandResult r = run(stdin, argv);
        if (!r.ok()) {
            throw new IllegalStateException(String.join(" ", argv) + " exited " + r.exitCode() + ": " + r.stderr());
        }
        return r.stdout();
    }
}
