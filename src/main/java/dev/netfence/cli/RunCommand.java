package dev.netfence.cli;

import dev.netfence.app.RunConfig;
import dev.netfence.app.RunConfigLoader;
import dev.netfence.app.RunService;
import dev.netfence.ops.HealthStatus;
import dev.netfence.ops.LogFormat;
import dev.netfence.ops.MetricsServer;
import dev.netfence.ops.NetfenceMetrics;
import java.net.InetAddress;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code netfence run}: the service. Reads its options (flag > {@code NETFENCE_*} environment >
 * {@code --config} file > default, see {@link RunConfigLoader}), starts the {@link RunService}
 * and runs until SIGTERM or SIGINT, then stops polling, drains within {@code --shutdown-timeout},
 * commits, closes and exits 0. A bad option value or an unknown config-file key is a usage error
 * (exit 2) reported in one line naming the key; a failure to start is a runtime failure (exit 3).
 * Options are plain strings here so that "not given" can fall through to the environment and file.
 */
@Command(name = "run", description = "Consume container events and enforce sandbox network policies.",
        mixinStandardHelpOptions = true)
public final class RunCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(RunCommand.class);

    @Spec
    CommandSpec spec;

    @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT[,...]",
            description = "Kafka brokers (default: $KAFKA_BOOTSTRAP_SERVERS, else 127.0.0.1:9092)")
    String bootstrapServers;
    @Option(names = "--node-id", paramLabel = "ID", description = "this node's id; * handles every node (default: host name)")
    String nodeId;
    @Option(names = "--assignment", paramLabel = "group|node-partition", description = "how partitions are assigned (default: group)")
    String assignment;
    @Option(names = "--events-topic", paramLabel = "TOPIC", description = "default: sandbox.container-events")
    String eventsTopic;
    @Option(names = "--outcomes-topic", paramLabel = "TOPIC", description = "default: sandbox.policy-outcomes")
    String outcomesTopic;
    @Option(names = "--policies-topic", paramLabel = "TOPIC", description = "default: sandbox.policies")
    String policiesTopic;
    @Option(names = "--policy-dir", paramLabel = "DIR", description = "read <taskId>.json policies from DIR instead of the topic")
    String policyDir;
    @Option(names = "--exactly-once", arity = "0..1", fallbackValue = "true", paramLabel = "true|false",
            description = "outcomes, dead letters and offsets in one Kafka transaction")
    String exactlyOnce;
    @Option(names = "--concurrency", paramLabel = "N", description = "worker threads (default: 8)")
    String concurrency;
    @Option(names = "--max-in-flight", paramLabel = "N", description = "outstanding records before pausing (default: 1000)")
    String maxInFlight;
    @Option(names = "--event-deadline", paramLabel = "DURATION", description = "per-event deadline, e.g. 30s or PT30S (default: 30s)")
    String eventDeadline;
    @Option(names = "--on-failure", paramLabel = "quarantine|leave", description = "default: quarantine")
    String onFailure;
    @Option(names = "--dry-run", arity = "0..1", fallbackValue = "true", paramLabel = "true|false",
            description = "render and report, touch no namespace")
    String dryRun;
    @Option(names = "--cgroup-check", arity = "0..1", fallbackValue = "true", paramLabel = "true|false",
            description = "refuse a pid whose /proc/PID/cgroup does not name the event's containerId (default: true)")
    String cgroupCheck;
    @Option(names = "--policy-wait", paramLabel = "DURATION",
            description = "how long to wait for a task's policy to appear before POLICY_NOT_FOUND (default: 5s)")
    String policyWait;
    @Option(names = "--iptables-backend", paramLabel = "auto|nft|legacy", description = "default: auto")
    String iptablesBackend;
    @Option(names = "--http-port", paramLabel = "PORT", description = "metrics and health (default: 9464)")
    String httpPort;
    @Option(names = "--shutdown-timeout", paramLabel = "DURATION", description = "drain bound on shutdown (default: 30s)")
    String shutdownTimeout;
    @Option(names = "--config", paramLabel = "FILE", description = "properties file with the same keys, plus kafka.* client settings")
    String config;
    @Option(names = "--log-format", paramLabel = "text|json", description = "default: text")
    String logFormat;

    private final CountDownLatch stop = new CountDownLatch(1);
    private final Map<String, String> environment;
    private final Supplier<String> hostname;
    private volatile Consumer<RunService> onStarted = s -> { };

    public RunCommand() {
        this(System.getenv());
    }

    RunCommand(Map<String, String> environment) {
        this(environment, RunCommand::hostname);
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

    /** Asks a running command to shut down, as SIGTERM does. */
    public void requestStop() {
        stop.countDown();
    }

    @Override
    public Integer call() throws InterruptedException {
        RunConfig cfg;
        try {
            cfg = config();
        } catch (IllegalArgumentException e) {
            spec.commandLine().getErr().println("netfence run: " + e.getMessage());
            return Main.USAGE;
        }
        if (cfg.logFormat() == RunConfig.LogFormat.JSON) {
            LogFormat.JSON.configure();
        }
        NetfenceMetrics metrics = NetfenceMetrics.create();
        RunService service;
        MetricsServer http;
        try {
            service = RunService.start(cfg, Main.version(), metrics.registry(), Clock.systemUTC());
        } catch (RuntimeException e) {
            spec.commandLine().getErr().println("netfence run: cannot start: " + e.getMessage());
            return Main.RUNTIME_FAILURE;
        }
        try {
            http = MetricsServer.start(cfg.httpPort(), metrics.registry(),
                    () -> service.pipeline().alive() ? HealthStatus.up() : HealthStatus.down("the consumer loop stopped"),
                    () -> service.pipeline().notReadyReason().map(HealthStatus::down).orElseGet(HealthStatus::up));
        } catch (RuntimeException e) {
            spec.commandLine().getErr().println("netfence run: cannot serve --http-port " + cfg.httpPort() + ": "
                    + e.getMessage());
            service.close();
            return Main.RUNTIME_FAILURE;
        }
        LOG.info("netfence {} running as node {} on {} ({} assignment); metrics and health on port {}", Main.version(),
                cfg.nodeId(), cfg.bootstrapServers(), cfg.assignment().wire(), http.port());
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

    /** The configuration the parsed options, the environment and the config file describe. */
    RunConfig config() {
        return new RunConfigLoader(environment, hostname).load(flags());
    }

    private Map<String, String> flags() {
        Map<String, String> f = new LinkedHashMap<>();
        put(f, "bootstrap-servers", bootstrapServers);
        put(f, "node-id", nodeId);
        put(f, "assignment", assignment);
        put(f, "events-topic", eventsTopic);
        put(f, "outcomes-topic", outcomesTopic);
        put(f, "policies-topic", policiesTopic);
        put(f, "policy-dir", policyDir);
        put(f, "exactly-once", exactlyOnce);
        put(f, "concurrency", concurrency);
        put(f, "max-in-flight", maxInFlight);
        put(f, "event-deadline", eventDeadline);
        put(f, "on-failure", onFailure);
        put(f, "dry-run", dryRun);
        put(f, "iptables-backend", iptablesBackend);
        put(f, "http-port", httpPort);
        put(f, "shutdown-timeout", shutdownTimeout);
        put(f, "config", config);
        put(f, "log-format", logFormat);
        put(f, "cgroup-check", cgroupCheck);
        put(f, "policy-wait", policyWait);
        return f;
    }

    private static void put(Map<String, String> f, String key, String value) {
        if (value != null) {
            f.put(key, value);
        }
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

    private static String hostname() {
        String h = System.getenv("HOSTNAME");
        if (h != null && !h.isBlank()) {
            return h.trim();
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            return "localhost";
        }
    }
}
