package dev.netfence.cli;

import dev.netfence.app.RunConfig;
import dev.netfence.app.RunService;
import dev.netfence.enforce.OnFailure;
import dev.netfence.hostguard.HostGuardMode;
import dev.netfence.kafka.Assignment;
import dev.netfence.netns.BackendChoice;
import dev.netfence.ops.HealthStatus;
import dev.netfence.ops.LogFormat;
import dev.netfence.ops.MetricsServer;
import dev.netfence.ops.NetfenceMetrics;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

/**
 * {@code netfence run}: the service. Each option is declared once here, typed, with the converter
 * that validates it ({@link RunConverters}); values not on the command line come from the
 * {@code NETFENCE_*} environment, then the {@code --config} file, then the default
 * ({@link OptionSources}). Starts the {@link RunService} and runs until SIGTERM or SIGINT, then
 * stops polling, drains within {@code --shutdown-timeout}, commits, closes and exits 0. A bad
 * option value or an unknown config-file key is a usage error (exit 2) reported by {@link Main}
 * in one line naming where the value came from; a failure to start is a runtime failure (exit 3).
 */
@Command(name = "run", description = "Consume container events and enforce sandbox network policies.",
        mixinStandardHelpOptions = true)
public final class RunCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(RunCommand.class);

    @Spec
    CommandSpec spec;

    @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT[,...]", defaultValue = "127.0.0.1:9092",
            converter = RunConverters.Servers.class,
            description = "Kafka brokers (default: $KAFKA_BOOTSTRAP_SERVERS, else 127.0.0.1:9092)")
    String bootstrapServers;
    @Option(names = "--node-id", paramLabel = "ID", converter = RunConverters.NodeId.class,
            description = "this node's id; * handles every node (default: $HOSTNAME, else the kernel's host name)")
    String nodeId;
    @Option(names = "--assignment", paramLabel = "group|node-partition", defaultValue = "group",
            converter = RunConverters.AssignmentWord.class, description = "how partitions are assigned (default: group)")
    Assignment assignment;
    @Option(names = "--events-topic", paramLabel = "TOPIC", defaultValue = "sandbox.container-events",
            converter = RunConverters.Topic.class, description = "default: sandbox.container-events")
    String eventsTopic;
    @Option(names = "--outcomes-topic", paramLabel = "TOPIC", defaultValue = "sandbox.policy-outcomes",
            converter = RunConverters.Topic.class, description = "default: sandbox.policy-outcomes")
    String outcomesTopic;
    @Option(names = "--policies-topic", paramLabel = "TOPIC", defaultValue = "sandbox.policies",
            converter = RunConverters.Topic.class, description = "default: sandbox.policies")
    String policiesTopic;
    @Option(names = "--policy-dir", paramLabel = "DIR", converter = RunConverters.Directory.class,
            description = "read <taskId>.json policies from DIR instead of the topic")
    Path policyDir;
    @Option(names = "--exactly-once", arity = "0..1", fallbackValue = "true", paramLabel = "true|false",
            defaultValue = "false", type = String.class, converter = RunConverters.Switch.class,
            description = "outcomes, dead letters and offsets in one Kafka transaction")
    boolean exactlyOnce;
    @Option(names = "--concurrency", paramLabel = "N", defaultValue = "8", converter = RunConverters.Concurrency.class,
            description = "worker threads (default: 8)")
    int concurrency;
    @Option(names = "--max-in-flight", paramLabel = "N", defaultValue = "1000",
            converter = RunConverters.MaxInFlight.class, description = "outstanding records before pausing (default: 1000)")
    int maxInFlight;
    @Option(names = "--event-deadline", paramLabel = "DURATION", defaultValue = "30s",
            converter = RunConverters.PositiveDuration.class,
            description = "per-event deadline, e.g. 30s or PT30S (default: 30s)")
    Duration eventDeadline;
    @Option(names = "--on-failure", paramLabel = "quarantine|leave", defaultValue = "quarantine",
            converter = RunConverters.OnFailureWord.class, description = "default: quarantine")
    OnFailure onFailure;
    @Option(names = "--dry-run", arity = "0..1", fallbackValue = "true", paramLabel = "true|false",
            defaultValue = "false", type = String.class, converter = RunConverters.Switch.class,
            description = "render and report, touch no namespace")
    boolean dryRun;
    @Option(names = "--cgroup-check", arity = "0..1", fallbackValue = "true", paramLabel = "true|false",
            defaultValue = "true", type = String.class, converter = RunConverters.Switch.class,
            description = "refuse a pid whose /proc/PID/cgroup does not name the event's containerId (default: true)")
    boolean cgroupCheck;
    @Option(names = "--refuse-capabilities", paramLabel = "CAP[,CAP]", defaultValue = "",
            converter = RunConverters.RefusedCapabilities.class,
            description = "NET_ADMIN and/or NET_RAW: a container holding one (any capability set of any thread in its cgroup) is quarantined "
                    + "with UNSAFE_CAPABILITIES instead of applied (default: none, only reported in the outcome's risks)")
    String refuseCapabilities;
    @Option(names = "--host-guard", paramLabel = "auto|off|required", defaultValue = "auto",
            converter = RunConverters.HostGuardWord.class,
            description = "host-side guard on the container's veth: auto (where there is one), off (none; the chains an "
                    + "earlier run left in table netdev netfence are removed), required (fail closed without one) (default: auto)")
    HostGuardMode hostGuard;
    @Option(names = "--dns-servers", paramLabel = "IP[,IP...]", defaultValue = "",
            converter = RunConverters.DnsServers.class,
            description = "resolvers this node trusts (e.g. the bridge gateway running aardvark-dns); a policy with dns on"
                    + " may reach udp/tcp 53 of these and of its own dnsServers only (default: none, so no DNS rule)")
    String dnsServers;
    @Option(names = "--policy-wait", paramLabel = "DURATION", defaultValue = "5s",
            converter = RunConverters.PositiveDuration.class,
            description = "how long to wait for a task's policy to appear before POLICY_NOT_FOUND (default: 5s)")
    Duration policyWait;
    @Option(names = "--resync-interval", paramLabel = "DURATION", defaultValue = "30s",
            converter = RunConverters.ResyncInterval.class,
            description = "how often every live container's rules are read back and repaired (default: 30s)")
    Duration resyncInterval;
    @Option(names = "--enforcements-topic", paramLabel = "TOPIC", defaultValue = "sandbox.enforcements",
            converter = RunConverters.Topic.class,
            description = "compacted topic journaling the live set (default: sandbox.enforcements)")
    String enforcementsTopic;
    @Option(names = "--hook-socket", paramLabel = "PATH|off", defaultValue = "/run/netfence/hook.sock",
            converter = RunConverters.HookSocket.class,
            description = "unix socket the OCI hook calls; off serves no hook (default: /run/netfence/hook.sock)")
    Path hookSocket;
    @Option(names = "--backend", paramLabel = "auto|nft|iptables", converter = RunConverters.BackendName.class,
            description = "auto (nftables in-process, else the nft program, else iptables), nft, iptables "
                    + "(also iptables-nft, iptables-legacy) (default: auto)")
    BackendChoice backend;
    @Option(names = "--iptables-backend", paramLabel = "auto|nft|legacy", converter = RunConverters.BackendWord.class,
            description = "old form of --backend, always iptables: auto = iptables, nft = iptables-nft, "
                    + "legacy = iptables-legacy")
    BackendChoice iptablesBackend;
    @Option(names = "--http-port", paramLabel = "PORT", defaultValue = "9464", converter = RunConverters.Port.class,
            description = "metrics and health (default: 9464)")
    int httpPort;
    @Option(names = "--http-address", paramLabel = "IP", converter = RunConverters.HttpAddress.class,
            description = "the address the metrics and health port listens on, e.g. 127.0.0.1 or the node's "
                    + "management address (default: all addresses)")
    InetAddress httpAddress;
    @Option(names = "--shutdown-timeout", paramLabel = "DURATION", defaultValue = "15s",
            converter = RunConverters.PositiveDuration.class,
            description = "drain bound on SIGTERM and revocation (default: 15s; the event pipeline stops at most 13s "
                    + "later, the whole process at most 67s later)")
    Duration shutdownTimeout;
    @Option(names = "--stall-timeout", paramLabel = "DURATION", converter = RunConverters.PositiveDuration.class,
            description = "/readyz fails while a record has waited longer unacknowledged; longer than "
                    + "--event-deadline (default: 2m, or --event-deadline + 1m where that is longer)")
    Duration stallTimeout;
    @Option(names = "--group-instance-id", paramLabel = "ID|none", converter = RunConverters.InstanceId.class,
            description = "static group membership id (default: netfence-<node-id>; none = dynamic membership)")
    String groupInstanceId;
    @Option(names = "--config", paramLabel = "FILE",
            description = "properties file with the same keys, plus kafka.* client settings")
    Path config;
    @Option(names = "--log-format", paramLabel = "text|json", defaultValue = "text",
            converter = RunConverters.LogFormatWord.class, description = "default: text")
    LogFormat logFormat;

    private final CountDownLatch stop = new CountDownLatch(1);
    private final Map<String, String> environment;
    private final Supplier<String> hostname;
    private OptionSources sources;
    private volatile Consumer<RunService> onStarted = s -> { };
    /** How the service starts its host guards (a test's: {@link dev.netfence.app.HostGuardStart#INERT}). */
    private volatile dev.netfence.app.HostGuardStart.Starter hostGuards = dev.netfence.app.HostGuardStart::start;

    public RunCommand() {
        this(System.getenv());
    }

    RunCommand(Map<String, String> environment) {
        this(environment, HostName::defaultNodeId);
    }

    RunCommand(Map<String, String> environment, Supplier<String> hostname) {
        this.environment = Map.copyOf(environment);
        this.hostname = hostname;
    }

    /** For embedding and tests: called with the service once it runs (e.g. to serve health). */
    public RunCommand onStarted(Consumer<RunService> hook) {
        this.onStarted = hook;
        return this;
    }

    /** For tests: how the service starts its host guards ({@code HostGuardStart.INERT}: the host table left alone). */
    RunCommand hostGuards(dev.netfence.app.HostGuardStart.Starter starter) {
        this.hostGuards = java.util.Objects.requireNonNull(starter, "starter");
        return this;
    }

    /** Asks a running command to shut down, as SIGTERM does. */
    public void requestStop() {
        stop.countDown();
    }

    static final String STARTING = "starting: reading the live set (waiting for the broker while it cannot be reached)";

    @Override
    public Integer call() throws InterruptedException {
        RunConfig cfg = config();
        if (cfg.logFormat() == LogFormat.JSON) {
            LogFormat.JSON.configure();
        }
        // in the log format asked for: the kafka.* settings netfence replaces with its own
        dev.netfence.kafka.KafkaClients.replaced(sources().kafka(), bootstrapServers, nodeId, exactlyOnce)
                .forEach(LOG::warn);
        NetfenceMetrics metrics = NetfenceMetrics.create();
        // served from before the start, which waits for the broker (the live set is read in full
        // first): alive and not ready meanwhile, so a liveness probe does not restart a waiting start
        AtomicReference<RunService> started = new AtomicReference<>();
        MetricsServer http;
        try {
            http = MetricsServer.start(cfg.httpAddress(), cfg.httpPort(), metrics.registry(),
                    () -> started.get() == null ? HealthStatus.up()
                            : started.get().liveness(),
                    () -> started.get() == null ? HealthStatus.down(STARTING)
                            : started.get().notReadyReason().map(HealthStatus::down)
                                    .orElseGet(HealthStatus::up));
        } catch (RuntimeException e) {
            spec.commandLine().getErr().println("netfence run: cannot serve --http-port " + cfg.httpPort()
                    + (cfg.httpAddress() == null ? "" : " on --http-address " + cfg.httpAddress().getHostAddress()) + ": "
                    + e.getMessage());
            return Main.RUNTIME_FAILURE;
        }
        RunService service;
        try {
            service = RunService.start(cfg, Main.version(), metrics.registry(), Clock.systemUTC(), hostGuards);
        } catch (RuntimeException e) {
            spec.commandLine().getErr().println("netfence run: cannot start: " + e.getMessage());
            http.close();
            return Main.RUNTIME_FAILURE;
        }
        started.set(service);
        LOG.info("netfence {} running as node {} on {} ({} assignment); metrics and health on port {} ({})",
                Main.version(), cfg.nodeId(), cfg.bootstrapServers(), cfg.assignment().wire(), http.port(),
                cfg.httpAddress() == null ? "all addresses" : cfg.httpAddress().getHostAddress());
        installSignalHandlers();
        Thread hook = new Thread(service::close, "netfence-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        onStarted.accept(service);
        stop.await();
        LOG.info("stopping: draining in-flight events");
        service.close();
        http.close();
        metrics.close();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the JVM is already exiting; the hook closes the (already closed) service again, harmlessly
        }
        return Main.OK;
    }

    /**
     * Where options not on the command line come from (environment, config file, fallbacks);
     * {@link Main#configure} installs it as this command's default-value provider.
     */
    OptionSources sources() {
        if (sources == null) {
            sources = new OptionSources(spec, environment, hostname);
        }
        return sources;
    }

    /** The {@code NETFENCE_*} variable of every option ({@code --node-id} is {@code NETFENCE_NODE_ID}). */
    public static Set<String> environmentVariables() {
        return new CommandLine(new RunCommand(Map.of())).getCommandSpec().options().stream()
                .filter(o -> !o.usageHelp() && !o.versionHelp())
                .map(o -> OptionSources.envName(OptionSources.key(o)))
                .collect(Collectors.toUnmodifiableSet());
    }

    /** {@code --backend}, else the alias {@code --iptables-backend}, else auto; both at once is a usage error. */
    private BackendChoice backend() {
        if (backend != null && iptablesBackend != null) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "--backend and --iptables-backend are the same setting: give one");
        }
        return backend != null ? backend : iptablesBackend != null ? iptablesBackend : BackendChoice.AUTO;
    }

    /**
     * The topics {@code run} reads and writes, each a topic of its own: an outcomes topic that is
     * also the events topic reads every outcome back as an event, dead-letters it and publishes a
     * failed outcome for it, without end (review 200 #4). The policies topic counts only where it
     * is read (no {@code --policy-dir}); the dead-letter topic is the events topic's name plus
     * {@code .dlq}.
     */
    private void distinctTopics() {
        Map<String, String> seen = new java.util.LinkedHashMap<>();
        List<String[]> topics = new java.util.ArrayList<>();
        topics.add(new String[] {"--events-topic", eventsTopic});
        topics.add(new String[] {"--outcomes-topic", outcomesTopic});
        if (policyDir == null) {
            topics.add(new String[] {"--policies-topic", policiesTopic});
        }
        topics.add(new String[] {"--enforcements-topic", enforcementsTopic});
        topics.add(new String[] {"the dead-letter topic (--events-topic + .dlq)", eventsTopic + ".dlq"});
        for (String[] t : topics) {
            String other = seen.putIfAbsent(t[1], t[0]);
            if (other != null) {
                throw new picocli.CommandLine.ParameterException(spec.commandLine(), t[0] + " " + t[1] + " is also "
                        + other + ": the events, outcomes, policies, enforcements and dead-letter topics must be"
                        + " five different topics");
            }
        }
    }

    /**
     * {@code --stall-timeout}, refused unless longer than {@code --event-deadline}: an event may take
     * that long in the normal course (its policy wait included), so a shorter stall bound would fail
     * {@code /readyz} for events still being worked on (review 200 #7); unset, 2 minutes, or the
     * deadline plus a minute where that is longer.
     */
    private Duration stallTimeout() {
        if (stallTimeout == null) {
            Duration after = eventDeadline.plusMinutes(1);
            return after.compareTo(DEFAULT_STALL) > 0 ? after : DEFAULT_STALL;
        }
        if (stallTimeout.compareTo(eventDeadline) <= 0) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--stall-timeout "
                    + shortText(stallTimeout) + " must be longer than --event-deadline "
                    + shortText(eventDeadline) + ": an event may take that long in the normal course, and"
                    + " /readyz would fail while it does");
        }
        return stallTimeout;
    }

    private static final Duration DEFAULT_STALL = Duration.ofMinutes(2);

    /** {@code d} in the options' own short form: {@code 500ms}, {@code 30s}, {@code 2m}, {@code 1h}. */
    private static String shortText(Duration d) {
        long ms = d.toMillis();
        return ms % 1000 != 0 ? ms + "ms" : ms % 3_600_000 == 0 ? ms / 3_600_000 + "h"
                : ms % 60_000 == 0 ? ms / 60_000 + "m" : ms / 1000 + "s";
    }

    /**
     * The configuration the parsed options describe, with the config file's Kafka settings; a
     * {@code kafka.*} value the clients would refuse is a usage error naming the key.
     */
    RunConfig config() {
        distinctTopics();
        Duration stall = stallTimeout();
        dev.netfence.kafka.KafkaClients.badSetting(sources().kafka(), bootstrapServers, nodeId, exactlyOnce)
                .ifPresent(bad -> {
                    throw sources().badKafkaSetting(bad.key(), bad.message());
                });
        return new RunConfig(bootstrapServers, nodeId, assignment, eventsTopic, outcomesTopic, policiesTopic,
                policyDir, exactlyOnce, concurrency, maxInFlight, eventDeadline, onFailure, dryRun, backend(),
                httpPort, httpAddress, shutdownTimeout, config, logFormat, cgroupCheck, policyWait,
                dev.netfence.netns.Capabilities.parseRefused(refuseCapabilities), hostGuard, stall,
                groupInstanceId, resyncInterval, enforcementsTopic, hookSocket,
                sources().kafka(), RunConverters.parseDnsServers(dnsServers));
    }

    /** SIGTERM/SIGINT stop the service through the normal path, so the process exits 0. */
    @SuppressWarnings("restriction")
    private void installSignalHandlers() {
        for (String name : new String[] {"TERM", "INT"}) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(name), sig -> stop.countDown());
            } catch (IllegalArgumentException | UnsupportedOperationException e) {
                LOG.warn("cannot handle SIG{}; relying on the shutdown hook: {}", name, e.toString());
            }
        }
    }

}
