package dev.netfence.netns;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Turns a {@link BackendChoice} into a concrete {@link IptablesBackend}. For {@code auto} it
 * asks the host's own {@code iptables --version} (run on the host, not in the container)
 * whether it is {@code (nf_tables)} or {@code (legacy)}, once, and remembers the answer: a host
 * does not switch backends under a running service, and a failed detection is not remembered.
 */
public final class BackendDetector {
    private static final Duration DETECT_TIMEOUT = Duration.ofSeconds(10);

    private final BackendChoice choice;
    private final CommandRunner runner;
    private volatile IptablesBackend detected;

    public BackendDetector(BackendChoice choice, CommandRunner runner) {
        this.choice = Objects.requireNonNull(choice, "choice");
        this.runner = Objects.requireNonNull(runner, "runner");
    }

    /** The backend to use; FIREWALL_UNAVAILABLE when auto cannot tell. */
    public IptablesBackend backend() {
        if (choice.fixed().isPresent()) {
            return choice.fixed().get();
        }
        IptablesBackend known = detected;
        if (known == null) {
            known = detect();
            detected = known;
        }
        return known;
    }

    private IptablesBackend detect() {
        List<String> argv = List.of("iptables", "--version");
        CommandResult result;
        try {
            result = runner.run(argv, new byte[0], DETECT_TIMEOUT);
        } catch (IOException e) {
            throw new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE,
                    "cannot run iptables --version: " + e.getMessage(), e);
        } catch (CommandTimeoutException e) {
            throw new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE, e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EnforcementException(ErrorCode.INTERNAL, "interrupted detecting the iptables backend", e);
        }
        String text = result.stdout() + result.stderr();
        if (result.ok() && text.contains("(nf_tables)")) {
            return IptablesBackend.NFT;
        }
        if (result.ok() && text.contains("(legacy)")) {
            return IptablesBackend.LEGACY;
        }
        throw new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE,
                "cannot tell the iptables backend from `iptables --version` (exit " + result.exitCode() + "): "
                        + text.strip());
    }
}
