package dev.netfence.cli;

import dev.netfence.core.EnforcementResult;
import dev.netfence.enforce.DefaultEnforcer;
import dev.netfence.enforce.EnforcementRequest;
import dev.netfence.enforce.EnforcerConfig;
import dev.netfence.enforce.OnFailure;
import dev.netfence.event.Outcome;
import dev.netfence.event.OutcomeCodec;
import dev.netfence.event.Outcomes;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.Capabilities;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.policy.NetworkPolicy;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code netfence apply --policy FILE --pid PID [--container-id ID]}: applies a policy once to
 * the namespace of a running process, through the same {@link DefaultEnforcer} the service
 * uses, and prints its outcome v1 document, written by the same {@link OutcomeCodec} as the
 * outcomes topic's (no event: eventId, taskId, nodeId and eventOccurredAt are null; without
 * {@code --container-id} the containerId is {@code pid-<PID>}). Exit 0
 * when applied, 3 when failed or skipped, 1 for an invalid policy. Without {@code --container-id}
 * there is nothing to check the pid's cgroup against, so that check is off. The instance name in
 * the output never fails the command: the rules are applied by then ({@link HostName}).
 */
@Command(name = "apply", mixinStandardHelpOptions = true, description = "Applies a policy to a process's network namespace.")
public final class ApplyCommand implements Callable<Integer> {
    /** The event schema's rule for {@code netns}. */
    private static final java.util.regex.Pattern NETNS =
            java.util.regex.Pattern.compile("/(var/)?run/(docker/)?netns/[A-Za-z0-9][A-Za-z0-9_.-]{0,254}|/proc/[1-9][0-9]{0,6}/ns/net");
    /** The event schema's rule for {@code containerId}: the outcome printed must be an outcome v1 document. */
    private static final java.util.regex.Pattern CONTAINER_ID = java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");

    @Option(names = "--policy", paramLabel = "FILE", required = true, description = "policy v1 JSON file")
    Path policyFile;

    @Option(names = "--pid", paramLabel = "PID", required = true, description = "a process in the target namespace")
    int pid;

    @Option(names = "--container-id", paramLabel = "ID", description = "checked against the pid's cgroup")
    String containerId;

    @Option(names = "--netns", paramLabel = "PATH", description = "the container's network namespace as the runtime "
            + "names it (/run/netns/NAME, /var/run/netns/NAME, Docker's /run/docker/netns/NAME or /var/run/docker/netns/NAME, /proc/PID/ns/net): enforced, and the pid must be in it")
    String netns;

    @Option(names = "--refuse-capabilities", paramLabel = "CAP[,CAP]", description = "NET_ADMIN and/or NET_RAW: "
            + "a container holding one (any thread of it: its cgroup with --container-id, else the pid's threads) is quarantined"
            + " with UNSAFE_CAPABILITIES (default: only reported as risks)")
    String refuseCapabilities;

    @Option(names = "--backend", paramLabel = "auto|nft|iptables", converter = BackendChoiceConverter.class,
            description = "auto (nftables in-process, else the nft program, else iptables), nft, iptables "
                    + "(also iptables-nft, iptables-legacy); default: auto")
    BackendChoice backend;

    @Option(names = "--iptables-backend", paramLabel = "auto|nft|legacy", converter = IptablesAliasConverter.class,
            description = "old form of --backend, always iptables: auto = iptables, nft = iptables-nft, "
                    + "legacy = iptables-legacy")
    BackendChoice iptablesBackend;

    @Option(names = "--on-failure", paramLabel = "quarantine|leave", defaultValue = "quarantine",
            converter = OnFailureConverter.class, description = "default: ${DEFAULT-VALUE}")
    OnFailure onFailure;

    @Option(names = "--dns-servers", paramLabel = "IP[,IP...]",
            description = "the node's trusted resolvers, as netfence run --dns-servers (default: none)")
    String dnsServers;

    @Option(names = "--deadline-seconds", paramLabel = "N", defaultValue = "30", description = "give up after N seconds")
    int deadlineSeconds;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        NetworkPolicy policy;
        try {
            policy = PolicyFile.load(policyFile);
        } catch (PolicyFile.InvalidInput e) {
            e.reasons().forEach(spec.commandLine().getErr()::println);
            return Main.INVALID_INPUT;
        }
        if (deadlineSeconds < 1) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "--deadline-seconds must be at least 1, was: " + deadlineSeconds);
        }
        java.util.Set<String> refused;
        try {
            refused = Capabilities.parseRefused(refuseCapabilities);
        } catch (IllegalArgumentException e) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "invalid value for --refuse-capabilities: " + e.getMessage());
        }
        if (pid < 1) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "--pid must be a process id (at least 1), was: " + pid);
        }
        if (containerId != null && !CONTAINER_ID.matcher(containerId).matches()) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "invalid value for --container-id: must be"
                    + " 1-128 letters, digits, '_', '.' or '-', the first a letter or digit, was: \"" + containerId + "\"");
        }
        if (netns != null && !NETNS.matcher(netns).matches()) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "invalid value for --netns: must be "
                    + "/run/netns/NAME, /var/run/netns/NAME, /run/docker/netns/NAME, /var/run/docker/netns/NAME or /proc/PID/ns/net, was: " + netns);
        }
        if (backend != null && iptablesBackend != null) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "--backend and --iptables-backend are the same setting: give one");
        }
        BackendChoice chosen = backend != null ? backend : iptablesBackend != null ? iptablesBackend : BackendChoice.AUTO;
        try {
            dev.netfence.app.RunService.requirePrivileges(Path.of("/proc"));
        } catch (IllegalStateException e) {
            spec.commandLine().getErr().println("netfence apply: " + e.getMessage());
            return Main.RUNTIME_FAILURE;
        }
        Clock clock = Clock.systemUTC();
        EnforcerConfig config = EnforcerConfig.custom().backend(chosen).onFailure(onFailure)
                .cgroupCheck(containerId != null).refuseCapabilities(refused)
                .dnsServers(DnsServersOption.parse(spec.commandLine(), dnsServers)).build();
        Clock steady = dev.netfence.core.SteadyClock.system(); // the deadline's timeline: no wall-clock step moves it
        DefaultEnforcer enforcer = new DefaultEnforcer(config, new ProcessCommandRunner(), steady, new SimpleMeterRegistry());
        Instant began = steady.instant();
        EnforcementResult result = enforcer.enforce(
                new EnforcementRequest(containerId, null, pid, netns == null ? null : Path.of(netns), policy,
                        began.plus(Duration.ofSeconds(deadlineSeconds))));
        // latencyMs is what the apply took on the steady clock, whatever the wall clock did meanwhile
        Instant started = clock.instant().minus(Duration.between(began, steady.instant()));
        Outcomes outcomes = new Outcomes(clock, HostName.orFallback() + "/" + ProcessHandle.current().pid(),
                Main.version());
        Outcome outcome = outcomes.oneOff(containerId != null ? containerId : "pid-" + pid, result, started);
        spec.commandLine().getOut().println(new String(new OutcomeCodec().encodePretty(outcome), StandardCharsets.UTF_8));
        return EnforcementResult.APPLIED.equals(result.status()) ? Main.OK : Main.RUNTIME_FAILURE;
    }

    /** Parses {@code --backend}. */
    static final class BackendChoiceConverter implements picocli.CommandLine.ITypeConverter<BackendChoice> {
        @Override
        public BackendChoice convert(String value) {
            return BackendChoice.parse(value);
        }
    }

    /** Parses the old {@code --iptables-backend}. */
    static final class IptablesAliasConverter implements picocli.CommandLine.ITypeConverter<BackendChoice> {
        @Override
        public BackendChoice convert(String value) {
            return BackendChoice.parseIptablesAlias(value);
        }
    }

    /** Parses {@code --on-failure}. */
    static final class OnFailureConverter implements picocli.CommandLine.ITypeConverter<OnFailure> {
        @Override
        public OnFailure convert(String value) {
            return OnFailure.parse(value);
        }
    }
}
