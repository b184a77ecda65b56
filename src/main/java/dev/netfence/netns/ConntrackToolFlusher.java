package dev.netfence.netns;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Flushes a namespace's connection tracking with the {@code conntrack} tool (conntrack-tools),
 * entered the way every other command enters the pinned namespace:
 * {@code nsenter --net=PATH -- conntrack -F} (both families; the tool flushes with family
 * unspecified). One process per apply; a missing tool or a refusal is FIREWALL_UNAVAILABLE (not
 * retried: without the flush an earlier flow could outlive the rules, so the apply must not be
 * reported applied), a command that outlives its timeout is TIMEOUT.
 */
public final class ConntrackToolFlusher implements ConntrackFlusher {
    private final CommandRunner runner;

    public ConntrackToolFlusher(CommandRunner runner) {
        this.runner = Objects.requireNonNull(runner, "runner");
    }

    /** The argv that flushes the namespace at {@code ns}. */
    public static List<String> argv(PinnedNamespace ns) {
        return List.of("nsenter", "--net=" + ns.path(), "--", "conntrack", "-F");
    }

    @Override
    public void flush(PinnedNamespace ns, Duration timeout) {
        List<String> argv = argv(ns);
        CommandResult result;
        try {
            result = runner.run(argv, new byte[0], timeout);
        } catch (IOException e) {
            throw new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE, "cannot run nsenter: " + e.getMessage(), e);
        } catch (CommandTimeoutException e) {
            throw new EnforcementException(ErrorCode.TIMEOUT, e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EnforcementException(ErrorCode.INTERNAL, "interrupted flushing connection tracking in " + ns, e);
        }
        if (!result.ok()) {
            String err = result.stderr().strip();
            throw new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE, "flushing connection tracking in " + ns
                    + " failed: " + String.join(" ", argv) + " exited " + result.exitCode()
                    + (err.isEmpty() ? "" : ": " + err) + (result.exitCode() == 127 ? " (install conntrack)" : ""));
        }
    }
}
