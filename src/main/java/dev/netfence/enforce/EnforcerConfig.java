package dev.netfence.enforce;

import dev.netfence.netns.BackendChoice;
import dev.netfence.policy.NetworkPolicy;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Immutable, validated settings of a {@link DefaultEnforcer}. The per-event deadline is not
 * here: it comes with each {@link EnforcementRequest}. Built resilience4j style:
 * {@code EnforcerConfig.custom().maxAttempts(3).build()}, {@link #defaults()} for the defaults,
 * {@link #from(EnforcerConfig)} to derive a changed copy. {@link Builder#build()} checks every
 * value and a bad one raises an {@link IllegalArgumentException} naming the field and value.
 */
public final class EnforcerConfig {
    private final int maxAttempts;
    private final Duration backoffBase;
    private final Duration backoffMax;
    private final boolean cgroupCheck;
    private final OnFailure onFailure;
    private final BackendChoice backend;
    private final boolean dryRun;
    private final Duration commandTimeout;
    private final Duration resolveTimeout;
    private final int lockWaitSeconds;
    private final Duration quarantineBudget;
    private final Path procRoot;
    private final Set<String> refuseCapabilities;
    private final List<InetAddress> dnsServers;
    private final TaskPolicies taskPolicies;

    private EnforcerConfig(Builder b) {
        this.maxAttempts = b.maxAttempts;
        this.backoffBase = b.backoffBase;
        this.backoffMax = b.backoffMax;
        this.cgroupCheck = b.cgroupCheck;
        this.onFailure = b.onFailure;
        this.backend = b.backend;
        this.dryRun = b.dryRun;
        this.commandTimeout = b.commandTimeout;
        this.resolveTimeout = b.resolveTimeout;
        this.lockWaitSeconds = b.lockWaitSeconds;
        this.quarantineBudget = b.quarantineBudget;
        this.procRoot = b.procRoot;
        this.refuseCapabilities = Set.copyOf(b.refuseCapabilities);
        this.dnsServers = List.copyOf(b.dnsServers);
        this.taskPolicies = b.taskPolicies;
    }

    /** A builder starting from the defaults (see {@link Builder}). */
    public static Builder custom() {
        return new Builder();
    }

    /** A builder starting from {@code config}'s values. */
    public static Builder from(EnforcerConfig config) {
        return new Builder(config);
    }

    /** 4 attempts, 100 ms doubling to 2 s, cgroup check on, quarantine, auto backend. */
    public static EnforcerConfig defaults() {
        return custom().build();
    }

    /** Attempts per request including the first (retryable failures only). */
    public int maxAttempts() {
        return maxAttempts;
    }

    /** Wait before the second attempt; doubles each time, with jitter. */
    public Duration backoffBase() {
        return backoffBase;
    }

    /** Upper bound of one wait. */
    public Duration backoffMax() {
        return backoffMax;
    }

    /** Whether a known containerId must appear in {@code /proc/PID/cgroup}. */
    public boolean cgroupCheck() {
        return cgroupCheck;
    }

    /** Quarantine (fail closed) or leave. */
    public OnFailure onFailure() {
        return onFailure;
    }

    /** Firewall backend choice. */
    public BackendChoice backend() {
        return backend;
    }

    /** Render and report only, touch no namespace. */
    public boolean dryRun() {
        return dryRun;
    }

    /** Upper bound for one external command (also capped by the deadline). */
    public Duration commandTimeout() {
        return commandTimeout;
    }

    /** Upper bound for resolving one hostname. */
    public Duration resolveTimeout() {
        return resolveTimeout;
    }

    /** {@code --wait} passed to iptables-restore for the xtables lock. */
    public int lockWaitSeconds() {
        return lockWaitSeconds;
    }

    /** Time allowed for applying the quarantine after a failure, even past the deadline. */
    public Duration quarantineBudget() {
        return quarantineBudget;
    }

    /** Normally {@code /proc}. */
    public Path procRoot() {
        return procRoot;
    }

    /**
     * Capabilities ({@code CAP_NET_ADMIN}, {@code CAP_NET_RAW}) a container must not hold: one
     * that does is quarantined with UNSAFE_CAPABILITIES. Empty (the default): only reported.
     */
    public Set<String> refuseCapabilities() {
        return refuseCapabilities;
    }

    /**
     * The resolvers this node's operator trusts ({@code --dns-servers}, e.g. the bridge gateway
     * that runs aardvark-dns): with a policy's {@code dns} on, DNS is opened to these and the
     * policy's own {@code dnsServers}, never to anything the container names.
     */
    public List<InetAddress> dnsServers() {
        return dnsServers;
    }

    /** Where each task's current policy is found ({@link TaskPolicies}; default {@link TaskPolicies#NONE}). */
    public TaskPolicies taskPolicies() {
        return taskPolicies;
    }

    @Override
    public String toString() {
        return "EnforcerConfig[maxAttempts=" + maxAttempts + ", backoffBase=" + backoffBase + ", backoffMax="
                + backoffMax + ", cgroupCheck=" + cgroupCheck + ", onFailure=" + onFailure + ", backend=" + backend
                + ", dryRun=" + dryRun + ", commandTimeout=" + commandTimeout + ", resolveTimeout=" + resolveTimeout
                + ", lockWaitSeconds=" + lockWaitSeconds + ", quarantineBudget=" + quarantineBudget + ", procRoot="
                + procRoot + ", refuseCapabilities=" + refuseCapabilities + ", dnsServers=" + dnsServers + "]";
    }

    /** Collects settings; {@link #build()} validates them all. Not thread-safe. */
    public static final class Builder {
        private int maxAttempts = 4;
        private Duration backoffBase = Duration.ofMillis(100);
        private Duration backoffMax = Duration.ofSeconds(2);
        private boolean cgroupCheck = true;
        private OnFailure onFailure = OnFailure.QUARANTINE;
        private BackendChoice backend = BackendChoice.AUTO;
        private boolean dryRun;
        private Duration commandTimeout = Duration.ofSeconds(20);
        private Duration resolveTimeout = Duration.ofSeconds(5);
        private int lockWaitSeconds = 5;
        private Duration quarantineBudget = Duration.ofSeconds(15);
        private Path procRoot = Path.of("/proc");
        private Set<String> refuseCapabilities = Set.of();
        private List<InetAddress> dnsServers = List.of();
        private TaskPolicies taskPolicies = TaskPolicies.NONE;

        private Builder() {
        }

        private Builder(EnforcerConfig c) {
            maxAttempts = c.maxAttempts;
            backoffBase = c.backoffBase;
            backoffMax = c.backoffMax;
            cgroupCheck = c.cgroupCheck;
            onFailure = c.onFailure;
            backend = c.backend;
            dryRun = c.dryRun;
            commandTimeout = c.commandTimeout;
            resolveTimeout = c.resolveTimeout;
            lockWaitSeconds = c.lockWaitSeconds;
            quarantineBudget = c.quarantineBudget;
            procRoot = c.procRoot;
            refuseCapabilities = c.refuseCapabilities;
            dnsServers = c.dnsServers;
            taskPolicies = c.taskPolicies;
        }

        public Builder maxAttempts(int value) {
            this.maxAttempts = value;
            return this;
        }

        public Builder backoff(Duration base, Duration max) {
            this.backoffBase = base;
            this.backoffMax = max;
            return this;
        }

        public Builder cgroupCheck(boolean value) {
            this.cgroupCheck = value;
            return this;
        }

        public Builder onFailure(OnFailure value) {
            this.onFailure = value;
            return this;
        }

        public Builder backend(BackendChoice value) {
            this.backend = value;
            return this;
        }

        public Builder dryRun(boolean value) {
            this.dryRun = value;
            return this;
        }

        public Builder commandTimeout(Duration value) {
            this.commandTimeout = value;
            return this;
        }

        public Builder resolveTimeout(Duration value) {
            this.resolveTimeout = value;
            return this;
        }

        public Builder lockWaitSeconds(int value) {
            this.lockWaitSeconds = value;
            return this;
        }

        public Builder quarantineBudget(Duration value) {
            this.quarantineBudget = value;
            return this;
        }

        public Builder procRoot(Path value) {
            this.procRoot = value;
            return this;
        }

        /** {@code CAP_NET_ADMIN} and/or {@code CAP_NET_RAW} (see {@code Capabilities.parseRefused}). */
        public Builder refuseCapabilities(Set<String> value) {
            this.refuseCapabilities = value;
            return this;
        }

        /** The node's trusted resolvers (at most 16); see {@link EnforcerConfig#dnsServers()}. */
        public Builder dnsServers(List<InetAddress> value) {
            this.dnsServers = value;
            return this;
        }

        /** Where each task's current policy is found; see {@link TaskPolicies}. */
        public Builder taskPolicies(TaskPolicies value) {
            this.taskPolicies = value;
            return this;
        }

        public EnforcerConfig build() {
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
            Objects.requireNonNull(refuseCapabilities, "refuseCapabilities");
            for (String cap : refuseCapabilities) {
                if (!cap.equals("CAP_NET_ADMIN") && !cap.equals("CAP_NET_RAW")) {
                    throw new IllegalArgumentException(
                            "refuseCapabilities must name CAP_NET_ADMIN or CAP_NET_RAW, was: " + refuseCapabilities);
                }
            }
            Objects.requireNonNull(dnsServers, "dnsServers");
            Objects.requireNonNull(taskPolicies, "taskPolicies");
            if (dnsServers.size() > NetworkPolicy.MAX_DNS_SERVERS) {
                throw new IllegalArgumentException("dnsServers must list at most " + NetworkPolicy.MAX_DNS_SERVERS
                        + " addresses, was: " + dnsServers.size());
            }
            return new EnforcerConfig(this);
        }

        private static void positive(String name, Duration value) {
            Objects.requireNonNull(value, name);
            if (value.isZero() || value.isNegative()) {
                throw new IllegalArgumentException(name + " must be positive, was: " + value);
            }
        }
    }
}
