package dev.netfence.netns;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.policy.Family;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs {@code iptables-save} and {@code iptables-restore --noflush} (or the ip6tables and
 * backend-specific variants) inside a pinned namespace through {@code nsenter --net=PATH --},
 * as argv arrays, and sorts their failures: exit 4 or a message about the xtables lock is
 * LOCK_CONTENDED (retryable; only the legacy backend takes that lock), any other refusal is
 * RULES_REJECTED (logged with the rendered input, stderr and exit code), a missing or
 * forbidden binary is FIREWALL_UNAVAILABLE. It only runs text it is given; rendering and
 * verification live elsewhere.
 */
public final class NamespaceFirewall {
    private static final Logger LOG = LoggerFactory.getLogger(NamespaceFirewall.class);
    private static final int LOCK_EXIT_CODE = 4;

    private final CommandRunner runner;
    private final int lockWaitSeconds;

    /** @param lockWaitSeconds passed as {@code --wait=N} to restore: how long to wait for the xtables lock */
    public NamespaceFirewall(CommandRunner runner, int lockWaitSeconds) {
        this.runner = Objects.requireNonNull(runner, "runner");
        if (lockWaitSeconds < 0) {
            throw new IllegalArgumentException("lockWaitSeconds must not be negative, was: " + lockWaitSeconds);
        }
        this.lockWaitSeconds = lockWaitSeconds;
    }

    /** The argv that restores {@code family} rules into the namespace at {@code nsPath}. */
    public List<String> restoreArgv(PinnedNamespace ns, IptablesBackend backend, Family family) {
        List<String> argv = new ArrayList<>(nsenter(ns));
        argv.addAll(List.of(backend.restoreBinary(family), "--noflush", "--wait=" + lockWaitSeconds));
        return List.copyOf(argv);
    }

    /** The argv that dumps the filter table of {@code family}. */
    public List<String> saveArgv(PinnedNamespace ns, IptablesBackend backend, Family family) {
        List<String> argv = new ArrayList<>(nsenter(ns));
        argv.addAll(List.of(backend.saveBinary(family), "-t", "filter"));
        return List.copyOf(argv);
    }

    /** The namespace's current filter table for {@code family}, as iptables-save prints it. */
    public String save(PinnedNamespace ns, IptablesBackend backend, Family family, Duration timeout) {
        List<String> argv = saveArgv(ns, backend, family);
        CommandResult result = run(argv, new byte[0], timeout);
        if (!result.ok()) {
            if (isLockContention(result)) {
                throw new EnforcementException(ErrorCode.LOCK_CONTENDED, describe(result));
            }
            throw classifyStartFailure(result).orElseGet(() -> new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE,
                    "reading back " + family.wire() + " rules failed: " + describe(result)));
        }
        return result.stdout();
    }

    /** Applies {@code restoreInput} for {@code family} in one iptables-restore transaction. */
    public void restore(PinnedNamespace ns, IptablesBackend backend, Family family, String restoreInput,
            Duration timeout) {
        List<String> argv = restoreArgv(ns, backend, family);
        CommandResult result = run(argv, restoreInput.getBytes(StandardCharsets.UTF_8), timeout);
        if (result.ok()) {
            return;
        }
        if (isLockContention(result)) {
            throw new EnforcementException(ErrorCode.LOCK_CONTENDED,
                    family.wire() + " restore: xtables lock held: " + describe(result));
        }
        var unavailable = classifyStartFailure(result);
        if (unavailable.isPresent()) {
            throw unavailable.get();
        }
        LOG.error("{} refused the {} rules in {} (exit {}): {}\n--- rendered input ---\n{}--- end ---",
                argv.get(argv.size() - 3), family.wire(), ns, result.exitCode(), result.stderr().strip(), restoreInput);
        throw new EnforcementException(ErrorCode.RULES_REJECTED,
                family.wire() + " rules rejected: " + describe(result));
    }

    private CommandResult run(List<String> argv, byte[] stdin, Duration timeout) {
        try {
            return runner.run(argv, stdin, timeout);
        } catch (dev.netfence.netns.CommandOutputTooLargeException e) {
            throw new EnforcementException(ErrorCode.VERIFY_FAILED, "output too large to verify: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE,
                    "cannot run " + argv.get(0) + ": " + e.getMessage(), e);
        } catch (CommandTimeoutException e) {
            throw new EnforcementException(ErrorCode.TIMEOUT, e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EnforcementException(ErrorCode.INTERNAL, "interrupted running " + argv, e);
        }
    }

    static boolean isLockContention(CommandResult result) {
        String err = result.stderr().toLowerCase(Locale.ROOT);
        return result.exitCode() == LOCK_EXIT_CODE
                || err.contains("holding the xtables lock")
                || err.contains("another app is currently holding the xtables lock");
    }

    /**
     * nsenter reports a program it cannot exec (exit 126/127, "No such file", "Permission
     * denied") or a namespace it may not enter; none of that is the rules' fault.
     */
    private static java.util.Optional<EnforcementException> classifyStartFailure(CommandResult result) {
        String err = result.stderr();
        boolean nsenterFailed = err.startsWith("nsenter:");
        if (result.exitCode() == 126 || result.exitCode() == 127 || nsenterFailed) {
            return java.util.Optional.of(new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE, describe(result)));
        }
        return java.util.Optional.empty();
    }

    private static List<String> nsenter(PinnedNamespace ns) {
        return List.of("nsenter", "--net=" + ns.path(), "--");
    }

    private static String describe(CommandResult result) {
        String err = result.stderr().strip();
        if (err.length() > 2000) {
            err = err.substring(0, 2000) + "…";
        }
        return String.join(" ", result.argv()) + " exited " + result.exitCode() + (err.isEmpty() ? "" : ": " + err);
    }
}
