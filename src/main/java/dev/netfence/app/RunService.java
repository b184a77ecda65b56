package dev.netfence.app;

import dev.netfence.core.SteadyClock;
import dev.netfence.enforce.DefaultEnforcer;
import dev.netfence.enforce.EnforcerConfig;
import dev.netfence.hostguard.GuardChain;
import dev.netfence.hostguard.HostGuardMode;
import dev.netfence.hostguard.HostGuardSweeper;
import dev.netfence.hostguard.HostGuards;
import dev.netfence.kafka.EventPipeline;
import dev.netfence.kafka.PipelineSettings;
import dev.netfence.kafka.TopicSetup;
import dev.netfence.kafka.TopicSetupRetry;
import dev.netfence.netns.PinPrivileges;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.policy.store.DirectoryPolicyStore;
import dev.netfence.policy.store.ParsingPolicyDecoder;
import dev.netfence.policy.store.PolicyStore;
import dev.netfence.policy.store.TopicPolicyStore;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The running service behind {@code netfence run}: wires a {@link RunConfig} into a policy store
 * (directory or compacted topic), the host guards ({@code --host-guard}, {@link HostGuardStart}:
 * adopted from a previous run at start, or under off all removed, swept every few seconds, counted
 * in {@code netfence_host_guards}), the real
 * {@link DefaultEnforcer} (commands through {@link ProcessCommandRunner}) and an
 * {@link EventPipeline}, and starts them. {@link #ready()}
 * and the registry are what the metrics/health server serves; {@link #close()} drains and stops.
 */
public final class RunService implements AutoCloseable {
    private final PolicyStore policies;
    private final EventPipeline pipeline;
    private final MeterRegistry registry;
    private final HostGuards hostGuards;
    private final HostGuardStart guarding;
    private final ContinuousEnforcement continuous;

    /** Retrying the topic setup the broker did not answer at the start; null when it did. */
    private final TopicSetupRetry topics;

    private RunService(PolicyStore policies, EventPipeline pipeline, MeterRegistry registry, HostGuards hostGuards,
            HostGuardStart guarding, ContinuousEnforcement continuous, TopicSetupRetry topics) {
        this.topics = topics;
        this.continuous = continuous;
        this.policies = policies;
        this.pipeline = pipeline;
        this.registry = registry;
        this.hostGuards = hostGuards;
        this.guarding = guarding;
    }

    /** Builds and starts everything {@code config} describes. */
    public static RunService start(RunConfig config, String version, MeterRegistry registry, Clock clock) {
        return start(config, version, registry, clock, HostGuardStart::start);
    }

    /** As {@link #start(RunConfig, String, MeterRegistry, Clock)}, its host guards started by {@code hostGuards}. */
    public static RunService start(RunConfig config, String version, MeterRegistry registry, Clock clock,
            HostGuardStart.Starter hostGuards) {
        if (!config.dryRun()) {
            requirePrivileges(Path.of("/proc"));
        }
        Map<String, Object> kafka = new HashMap<>(config.kafka());
        kafka.put("bootstrap.servers", config.bootstrapServers());
        TopicSetup setup = new TopicSetup(kafka);
        List<String> plain = List.of(config.eventsTopic(), config.outcomesTopic(), config.eventsTopic() + ".dlq");
        // a broker out of reach at the start: the missing topics are made once it answers
        TopicSetupRetry topics = setup.ensure(plain, compacted(config)).answered() ? null : TopicSetupRetry.start(
                () -> setup.ensure(plain, compacted(config)).answered(), Duration.ofSeconds(5), Duration.ofSeconds(60));
        try {
            return start(config, version, registry, clock, kafka, topics, hostGuards);
        } catch (RuntimeException | Error e) {
            if (topics != null) {
                topics.close();
            }
            throw e;
        }
    }

    private static RunService start(RunConfig config, String version, MeterRegistry registry, Clock clock,
            Map<String, Object> kafka, TopicSetupRetry topics, HostGuardStart.Starter hostGuardStarter) {
        PolicyStore policies = config.policyDir() != null
                ? DirectoryPolicyStore.open(config.policyDir(), new ParsingPolicyDecoder(),
                        DirectoryPolicyStore.DEFAULT_SCAN_INTERVAL)
                : TopicPolicyStore.start(kafka, config.policiesTopic(), new ParsingPolicyDecoder());
        EnforcerConfig enforcerConfig = EnforcerConfig.custom()
                .backend(config.backend())
                .onFailure(config.onFailure())
                .dryRun(config.dryRun())
                .cgroupCheck(config.cgroupCheck())
                .refuseCapabilities(config.refuseCapabilities())
                .dnsServers(config.dnsServers())
                // pod members of different tasks take a policy update one after another (NamespaceOwners)
                .taskPolicies(policies::validPolicy)
                .build();
        ProcessCommandRunner runner = new ProcessCommandRunner();
        // a previous run's guards: kept where their interface still exists, the rest removed (under off: all)
        HostGuardStart guarding = hostGuardStarter.start(config.hostGuard(), config.dryRun(), runner, registry,
                HostGuardSweeper.DEFAULT_INTERVAL);
        HostGuards hostGuards = guarding.guards();
        // deadlines (the enforcer's, the events', the corrections') and waits run on the steady clock, stamps on `clock`
        Clock steady = SteadyClock.system();
        DefaultEnforcer enforcer = new DefaultEnforcer(enforcerConfig, runner, steady, registry, hostGuards);
        Map<String, Object> pipelineKafka = new HashMap<>(kafka);
        if (config.groupInstanceId() != null) {
            pipelineKafka.put("group.instance.id", config.groupInstanceId());
        }
        PipelineSettings settings = PipelineSettings.custom()
                .kafka(pipelineKafka)
                .nodeId(config.nodeId())
                .assignment(config.assignment())
                .eventsTopic(config.eventsTopic())
                .outcomesTopic(config.outcomesTopic())
                .exactlyOnce(config.exactlyOnce())
                .concurrency(config.concurrency())
                .maxInFlight(config.maxInFlight())
                .eventDeadline(config.eventDeadline())
                .policyWait(config.policyWait())
                .shutdownTimeout(config.shutdownTimeout())
                .stallTimeout(config.stallTimeout())
                .instance(config.nodeId() + "/" + ProcessHandle.current().pid())
                .version(version)
                .build();
        // the reconciler (live set, resync, OCI hook) releases a stopped or vanished container's host guard at once
        ContinuousEnforcement continuous;
        try {
            continuous = config.dryRun() ? null : new ContinuousEnforcement(config, kafka, enforcer, policies,
                    hostGuards.mode() == HostGuardMode.OFF ? dev.netfence.reconcile.HostGuards.NONE
                            : new ReconcilerHostGuards(hostGuards), settings.instance(), version, registry, clock,
                    steady, enforcerConfig.procRoot());
        } catch (RuntimeException e) { // reading the live set failed for good, or was interrupted
            guarding.close();
            policies.close();
            throw e;
        }
        if (continuous != null && hostGuards.mode() != HostGuardMode.OFF) {
            // a container holding an address a newcomer was first guarded with is guarded again at once
            dev.netfence.reconcile.Reconciler reconciler = continuous.reconciler();
            hostGuards.onClaimedBefore(owner -> reconciler.checkSoon(id -> GuardChain.ownerOf(id, 0).equals(owner)));
        }
        EventPipeline pipeline = new EventPipeline(settings, enforcer, enforcer::failClosed, policies, registry, clock,
                steady, continuous == null ? dev.netfence.reconcile.ContainerLifecycle.NONE
                        : new StandbyAwareLifecycle(continuous.lifecycle(), guarding::standingBy));
        pipeline.start();
        if (continuous != null) {
            continuous.start();
        }
        return new RunService(policies, pipeline, registry, hostGuards, guarding, continuous, topics);
    }

    /** Fails the start when netfence lacks a capability enforcing needs ({@link PinPrivileges}). */
    public static void requirePrivileges(Path procRoot) {
        Optional<String> missing;
        try {
            missing = PinPrivileges.missing(procRoot);
        } catch (java.io.IOException | IllegalArgumentException e) {
            throw new IllegalStateException("cannot read netfence's own capabilities: " + e.getMessage(), e);
        }
        missing.ifPresent(m -> {
            throw new IllegalStateException(m);
        });
    }

    private static List<String> compacted(RunConfig config) {
        List<String> topics = new java.util.ArrayList<>();
        if (config.policyDir() == null) {
            topics.add(config.policiesTopic());
        }
        if (!config.dryRun()) {
            topics.add(config.enforcementsTopic());
        }
        return topics;
    }

    /** Partitions assigned, policy store caught up, broker reachable. */
    public boolean ready() {
        return pipeline.ready();
    }

    public MeterRegistry registry() {
        return registry;
    }

    /**
     * Liveness: the consumer loop beats, the policy store's reader has not stopped for good, and the
     * pipeline's producers have not stopped answering {@code ProducerWatchdog.GIVE_UP} times in a row.
     */
    public dev.netfence.ops.HealthStatus liveness() {
        if (policies.stoppedForGood()) {
            return dev.netfence.ops.HealthStatus.down("the policy store's reader stopped for good");
        }
        Optional<String> producer = pipeline.producerDeadReason();
        if (producer.isPresent()) {
            return dev.netfence.ops.HealthStatus.down(producer.get());
        }
        return pipeline.health().liveness().check();
    }

    /**
     * Why this instance is not ready ({@code /readyz}), or empty: the pipeline's reasons first
     * ({@link EventPipeline#notReadyReason()}), then the resyncs' (falling behind, stuck or gone:
     * {@link dev.netfence.reconcile.Reconciler#notReadyReason()}), when this instance reconciles,
     * then the host guards' (under {@code --host-guard off}: chains an earlier run left that could not
     * be removed yet, {@link HostGuardStart#notReadyReason()}).
     */
    public Optional<String> notReadyReason() {
        return pipeline.notReadyReason().or(() -> continuous == null ? Optional.empty()
                : continuous.reconciler().notReadyReason()).or(guarding::notReadyReason);
    }

    public EventPipeline pipeline() {
        return pipeline;
    }

    /** The host guards (release a stopped container's, sweep vanished ones, count them). */
    public HostGuards hostGuards() {
        return hostGuards;
    }

    /** Drains within the shutdown timeout, commits and stops; then closes the policy store. */
    @Override
    public void close() {
        if (topics != null) {
            topics.close();
        }
        if (continuous != null) {
            continuous.beforeDrain();
        }
        pipeline.close();
        if (continuous != null) {
            continuous.close();
        }
        policies.close();
        guarding.close();
    }
}
