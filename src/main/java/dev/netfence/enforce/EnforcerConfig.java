package dev.netfence.enforce;

import dev.netfence.netns.BackendChoice;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Immutable, validated settings of a {@link DefaultEnforcer}. The per-event deadline is not
 * here: it comes with each {@link EnforcementRequest}. Build from {@link #defaults()} with the
 * {@code with...} methods; every constructor argument is checked and a bad one raises an
 * {@link IllegalArgumentException} naming the field and value.
 *
 * @param maxAttempts attempts per request including the first (retryable failures only)
 * @param backoffBase wait before the second attempt; doubles each time, with jitter
 * @param backoffMax upper bound of one wait
 * @param cgroupCheck whether a known containerId must appear in {@code /proc/PID/cgroup}
 * @param onFailure quarantine (fail closed) or leave
 * @param backend iptables backend choice (auto, nft, legacy)
 * @param dryRun render and report only, touch no namespace
 * @param commandTimeout upper bound for one external command (also capped by the deadline)
 * @param resolveTimeout upper bound for resolving one hostname
 * @param lockWaitSeconds {@code --wait} passed to iptables-restore for the xtables lock
 * @param quarantineBudget time allowed for applying the quarantine after a failure, even past the deadline
 * @param procRoot normally {@code /proc}
 */
public record EnforcerConfig(
        int maxAttempts,
        Duration backoffBase,
        Duration backoffMax,
        boolean cgroupCheck,
        OnFailure onFailure,
        BackendChoice backend,
        boolean dryRun,
        Duration commandTimeout,
        Duration resolveTimeout,
        int lockWaitSeconds,
        Duration quarantineBudget,
        Path procRoot) {

    public EnforcerConfig {
        if (maxAttempts < 1 || maxAttempts > 100) {
            throw new IllegalArgumentException("maxAttempts must be 1-100, was: " + maxAttempts);
        }
        positive("backoffBase", backoffBase);
        positive("backoffMax", backoffMax);
        if (backoffMax.compareTo(backoffBase) < 0) {
            throw new IllegalArgumentException(
                    "backoffMax must be at least backoffBase (" + backoffBase + "), was: " + backoffMax);
        }
        Objects.requireNonNull(onFailure, "onFailure");
        Objects.requireNonNull(backend, "backend");
        positive("commandTimeout", commandTimeout);
        positive("resolveTimeout", resolveTimeout);
        // iptables-legacy-restore --wait=0 waits forever, so 0 is refused rather than passed on.
        if (lockWaitSeconds < 1 || lockWaitSeconds > 600) {
            throw new IllegalArgumentException("lockWaitSeconds must be 1-600, was: " + lockWaitSeconds);
        }
        positive("quarantineBudget", quarantineBudget);
        Objects.requireNonNull(procRoot, "procRoot");
    }

    /** 4 attempts, 100 ms doubling to 2 s, cgroup check on, quarantine, auto backend. */
    public static EnforcerConfig defaults() {
        return new EnforcerConfig(4, Duration.ofMillis(100), Duration.ofSeconds(2), true, OnFailure.QUARANTINE,
                BackendChoice.AUTO, false, Duration.ofSeconds(20), Duration.ofSeconds(5), 5, Duration.ofSeconds(15),
                Path.of("/proc"));
    }

    public EnforcerConfig withMaxAttempts(int value) {
        return new EnforcerConfig(value, backoffBase, backoffMax, cgroupCheck, onFailure, backend, dryRun,
                commandTimeout, resolveTimeout, lockWaitSeconds, quarantineBudget, procRoot);
    }

    public EnforcerConfig withBackoff(Duration base, Duration max) {
        return new EnforcerConfig(maxAttempts, base, max, cgroupCheck, onFailure, backend, dryRun,
                commandTimeout, resolveTimeout, lockWaitSeconds, quarantineBudget, procRoot);
    }

    public EnforcerConfig withCgroupCheck(boolean value) {
        return new EnforcerConfig(maxAttempts, backoffBase, backoffMax, value, onFailure, backend, dryRun,
                commandTimeout, resolveTimeout, lockWaitSeconds, quarantineBudget, procRoot);
    }

    public EnforcerConfig withOnFailure(OnFailure value) {
        return new EnforcerConfig(maxAttempts, backoffBase, backoffMax, cgroupCheck, value, backend, dryRun,
                commandTimeout, resolveTimeout, lockWaitSeconds, quarantineBudget, procRoot);
    }

    public EnforcerConfig withBackend(BackendChoice value) {
        return new EnforcerConfig(maxAttempts, backoffBase, backoffMax, cgroupCheck, onFailure, value, dryRun,
                commandTimeout, resolveTimeout, lockWaitSeconds, quarantineBudget, procRoot);
    }

    public EnforcerConfig withDryRun(boolean value) {
        return new EnforcerConfig(maxAttempts, backoffBase, backoffMax, cgroupCheck, onFailure, backend, value,
                commandTimeout, resolveTimeout, lockWaitSeconds, quarantineBudget, procRoot);
    }

    public EnforcerConfig withCommandTimeout(Duration value) {
        return new EnforcerConfig(maxAttempts, backoffBase, backoffMax, cgroupCheck, onFailure, backend, dryRun,
                value, resolveTimeout, lockWaitSeconds, quarantineBudget, procRoot);
    }

    public EnforcerConfig withProcRoot(Path value) {
        return new EnforcerConfig(maxAttempts, backoffBase, backoffMax, cgroupCheck, onFailure, backend, dryRun,
                commandTimeout, resolveTimeout, lockWaitSeconds, quarantineBudget, value);
    }

    private static void positive(String name, Duration value) {
        Objects.requireNonNull(value, name);
        if (value.isZero() || value.isNegative()) {
            throw new IllegalArgumentException(name + " must be positive, was: " + value);
        }
    }
}
