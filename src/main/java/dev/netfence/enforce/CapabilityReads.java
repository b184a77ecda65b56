package dev.netfence.enforce;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.core.MeterNames;
import dev.netfence.netns.Capabilities;
import dev.netfence.netns.ContainerCapabilities;
import dev.netfence.netns.PinnedNamespace;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The capability reads {@link ContainmentChecks} makes, with what a failed one means in each
 * place: for an apply ({@link #forApply}) a failure is a refusal, retried first when
 * {@code --refuse-capabilities} makes a refusal depend on the read, and the risks found are counted
 * in {@code netfence.risks}; for a member of a shared namespace read beside another's apply
 * ({@link #forMember}) a member that cannot be read counts as holding every risk; for a host
 * guard's claim ({@link #now}) the caller decides. Reads only {@code /proc} and the cgroup file
 * system ({@link ContainerCapabilities}).
 */
final class CapabilityReads {
    /** How many times the capabilities are read before a failure is refused, with refusals configured. */
    static final int READS = 3;
    /** The risks a member whose capabilities cannot be read counts as holding. */
    static final List<String> UNREAD = List.of("CAP_NET_ADMIN", "CAP_NET_RAW", Capabilities.NO_SECCOMP);

    private final EnforcerConfig config;
    private final MeterRegistry registry;
    private final ContainerCapabilities capabilities;
    /** The counter of each risk, looked up once (a registry look-up per apply cost ≈ 8 µs each). */
    private final Map<String, Counter> riskCounters = new ConcurrentHashMap<>();

    CapabilityReads(EnforcerConfig config, MeterRegistry registry, ContainerCapabilities capabilities) {
        this.config = Objects.requireNonNull(config, "config");
        this.registry = Objects.requireNonNull(registry, "registry");
        this.capabilities = Objects.requireNonNull(capabilities, "capabilities");
    }

    /**
     * The container's risky capabilities (any of its threads'), counted in the metric, and whether
     * NET_ADMIN reaches the host's namespace ({@link ContainerCapabilities#read}). CONTAINER_NOT_FOUND
     * when its process is gone.
     */
    ContainerCapabilities.Read forApply(EnforcementRequest request, PinnedNamespace ns) {
        ContainerCapabilities.Read risks = null;
        for (int read = 1; risks == null; read++) {
            try {
                risks = capabilities.read(ns.pid(), request.containerId(), ns.containerCgroups());
            } catch (NoSuchFileException e) {
                throw new EnforcementException(ErrorCode.CONTAINER_NOT_FOUND, "process " + ns.pid() + " does not exist");
            } catch (IOException | IllegalArgumentException e) {
                if (config.refuseCapabilities().isEmpty()) {
                    throw new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE,
                            "cannot read the capabilities of pid " + ns.pid() + ": " + e.getMessage(), e);
                }
                if (read == READS) {
                    // with refusals configured, capabilities that cannot be vouched for are refused like held
                    // ones: quarantined even with --on-failure leave (a workload can make its status unreadable)
                    throw new EnforcementException(ErrorCode.UNSAFE_CAPABILITIES, "cannot read the capabilities of"
                            + " pid " + ns.pid() + " (" + READS + " reads): " + e.getMessage(), e);
                }
                // read again first: threads that kept coming for a while (a build's forks) may have settled
            }
        }
        if (!ns.occupied()) { // its packet sockets were read through the namespace it is in now
            throw new EnforcementException(ErrorCode.CONTAINER_NOT_FOUND,
                    "process " + ns.pid() + " left its namespace while its capabilities were read");
        }
        for (String risk : risks.risks()) {
            riskCounters.computeIfAbsent(risk, r -> registry.counter(MeterNames.RISKS, "risk", r)).increment();
        }
        return risks;
    }

    /**
     * A member's capabilities read through {@code pid} ({@link ContainmentChecks#joined}): null when
     * the process is gone, {@link #UNREAD} (and NET_ADMIN over the host) when {@link #READS} reads
     * failed, since nothing vouches that it holds nothing.
     */
    ContainerCapabilities.Read forMember(int pid, String containerId) {
        for (int attempt = 1; ; attempt++) {
            try {
                return capabilities.read(pid, containerId, null);
            } catch (NoSuchFileException gone) {
                return null;
            } catch (IOException | RuntimeException e) {
                if (attempt == READS) {
                    return new ContainerCapabilities.Read(UNREAD, true);
                }
            }
        }
    }

    /** One read of the capabilities of the container {@code containerId} in {@code ns}, as it comes. */
    ContainerCapabilities.Read now(PinnedNamespace ns, String containerId) throws IOException {
        return capabilities.read(ns.pid(), containerId, ns.containerCgroups());
    }
}
