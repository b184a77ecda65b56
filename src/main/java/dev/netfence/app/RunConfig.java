package dev.netfence.app;

import dev.netfence.enforce.OnFailure;
import dev.netfence.hostguard.HostGuardMode;
import dev.netfence.kafka.Assignment;
import dev.netfence.netns.BackendChoice;
import dev.netfence.ops.LogFormat;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The validated configuration of {@code netfence run} (docs/contracts.md, "Command: run"): one field per option,
 * with {@code kafka} holding the {@code kafka.}-prefixed config-file keys (prefix removed) that
 * pass through to the Kafka clients. Built by {@code RunCommand} from its parsed options; immutable.
 *
 * @param policyDir the policy directory, or null to read the policies topic
 * @param httpPort metrics and health port; 0 picks a free port
 * @param httpAddress the address the metrics and health port is bound to, or null for all addresses
 * @param configFile the config file that was read, or null
 * @param groupInstanceId {@code --group-instance-id}: null for the default {@code netfence-<nodeId>},
 *                        {@code none} for dynamic membership
 * @param dnsServers the resolvers this node's operator trusts ({@code --dns-servers}); DNS is
 *     opened only to these and a policy's own {@code dnsServers}
 * @param resyncInterval how often the reconciler reads back every live container's rules
 * @param enforcementsTopic the compacted topic journaling the live set
 * @param hookSocket the OCI hook's unix socket, or null when the hook is not served
 */
public record RunConfig(
        String bootstrapServers,
        String nodeId,
        Assignment assignment,
        String eventsTopic,
        String outcomesTopic,
        String policiesTopic,
        Path policyDir,
        boolean exactlyOnce,
        int concurrency,
        int maxInFlight,
        Duration eventDeadline,
        OnFailure onFailure,
        boolean dryRun,
        BackendChoice backend,
        int httpPort,
        InetAddress httpAddress,
        Duration shutdownTimeout,
        Path configFile,
        LogFormat logFormat,
        boolean cgroupCheck,
        Duration policyWait,
        Set<String> refuseCapabilities,
        HostGuardMode hostGuard,
        Duration stallTimeout,
        String groupInstanceId,
        Duration resyncInterval,
        String enforcementsTopic,
        Path hookSocket,
        Map<String, String> kafka,
        List<InetAddress> dnsServers) {

    public RunConfig {
        Objects.requireNonNull(bootstrapServers, "bootstrapServers");
        Objects.requireNonNull(nodeId, "nodeId");
        Objects.requireNonNull(assignment, "assignment");
        Objects.requireNonNull(eventsTopic, "eventsTopic");
        Objects.requireNonNull(outcomesTopic, "outcomesTopic");
        Objects.requireNonNull(policiesTopic, "policiesTopic");
        Objects.requireNonNull(eventDeadline, "eventDeadline");
        Objects.requireNonNull(onFailure, "onFailure");
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(shutdownTimeout, "shutdownTimeout");
        Objects.requireNonNull(logFormat, "logFormat");
        Objects.requireNonNull(policyWait, "policyWait");
        refuseCapabilities = Set.copyOf(refuseCapabilities);
        Objects.requireNonNull(hostGuard, "hostGuard");
        Objects.requireNonNull(stallTimeout, "stallTimeout");
        Objects.requireNonNull(resyncInterval, "resyncInterval");
        Objects.requireNonNull(enforcementsTopic, "enforcementsTopic");
        kafka = Map.copyOf(kafka);
        dnsServers = dnsServers == null ? List.of() : List.copyOf(dnsServers);
    }
}
