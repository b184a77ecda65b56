package dev.netfence.app;

import dev.netfence.enforce.Enforcer;
import dev.netfence.event.Outcomes;
import dev.netfence.kafka.KafkaOutcomePublisher;
import dev.netfence.kafka.NodeRouting;
import dev.netfence.policy.store.PolicyStore;
import dev.netfence.reconcile.EnforcementsTopic;
import dev.netfence.reconcile.HookServer;
import dev.netfence.reconcile.HookServing;
import dev.netfence.reconcile.HostGuards;
import dev.netfence.reconcile.LiveSet;
import dev.netfence.reconcile.Reconciler;
import dev.netfence.reconcile.TakeOver;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;

/**
 * The reconciler's part of {@code netfence run} (docs/operations.md, "Continuous enforcement"):
 * the live set rebuilt from the enforcements topic (and brought up to date from it whenever the
 * pipeline takes partitions over, {@link TakeOver}), the {@link Reconciler} with its own outcome
 * producer, and the OCI hook's socket. Built before the pipeline (which hands it container
 * events) and started after it; closed after the pipeline has drained. The live set is never
 * cleared on close: a restart continues from the topic.
 */
final class ContinuousEnforcement implements AutoCloseable {
    /** Each metadata request of the live set's read at start (tried again after it while the broker is away). */
    private static final Duration LOAD_TIMEOUT = Duration.ofSeconds(10);
    private static final int THREADS = 4;
    /** How long a read of the journal after taking partitions over may keep trying ({@link TakeOver}). */
    private static final Duration TAKE_OVER_BUDGET = Duration.ofMinutes(2);

    private final EnforcementsTopic journal;
    private final KafkaOutcomePublisher publisher;
    private final Reconciler reconciler;
    private final Path hookSocket;
    private final MeterRegistry registry;
    private final Object hookLock = new Object();
    private HookServing hook;
    private boolean standingBy;

    ContinuousEnforcement(RunConfig config, Map<String, Object> kafka, Enforcer enforcer, PolicyStore policies,
            HostGuards guards, String instance, String version, MeterRegistry registry, Clock clock, Clock steady,
            Path procRoot) {
        this.journal = new EnforcementsTopic(kafka, config.enforcementsTopic());
        this.publisher = new KafkaOutcomePublisher(kafka, config.outcomesTopic(), instance, config.nodeId(),
                registry);
        LiveSet live = new LiveSet(journal, registry);
        NodeRouting routing = new NodeRouting(config.nodeId());
        try {
            EnforcementsTopic.load(kafka, config.enforcementsTopic(), routing::accepts, LOAD_TIMEOUT).forEach(live::restore);
        } catch (InterruptedException | RuntimeException e) {
            boolean interrupted = Thread.interrupted() || e instanceof InterruptedException; // closing waits a little
            journal.close();
            publisher.close();
            if (interrupted) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while reading the live set from "
                        + config.enforcementsTopic(), e);
            }
            throw new IllegalStateException("cannot read the live set from " + config.enforcementsTopic() + ": "
                    + e.getMessage(), e);
        }
        this.reconciler = new Reconciler(live, enforcer, policies, new Outcomes(clock, instance, version), publisher,
                guards, clock, steady, registry, config.nodeId(), config.resyncInterval(), THREADS, config.eventDeadline(),
                procRoot);
        reconciler.restoreNamespaceOwners(); // before the pipeline exists: no event is judged without them
        EnforcementsTopic written = journal;
        reconciler.readJournalOnTakeOver(new TakeOver.Journal() {
            @Override
            public void flush() throws InterruptedException {
                written.flush();
            }

            @Override
            public java.util.Collection<String> unwritten() {
                return written.unwritten();
            }

            @Override
            public java.util.List<dev.netfence.reconcile.LiveContainer> read() throws InterruptedException {
                return EnforcementsTopic.load(kafka, config.enforcementsTopic(), routing::accepts, LOAD_TIMEOUT,
                        TAKE_OVER_BUDGET);
            }
        });
        this.hookSocket = config.hookSocket();
        this.registry = registry;
    }

    /** The reconciler (wiring of what else must reach it). */
    Reconciler reconciler() {
        return reconciler;
    }

    /** What the pipeline tells about container events (standing by also gives up the OCI hook's socket). */
    dev.netfence.reconcile.ContainerLifecycle lifecycle() {
        return new StandbyAwareLifecycle(reconciler, on -> {
            synchronized (hookLock) {
                standingBy = on; // told before the hook is served (a fence at start): applied when it is
                if (hook != null) {
                    hook.standingBy(on);
                }
            }
        });
    }

    /** Starts reconciling (policy listener, resync timer) and serves the OCI hook. */
    void start() {
        reconciler.start();
        if (hookSocket != null) { // a socket another instance still serves (a rolling update) is taken once it is free
            synchronized (hookLock) {
                hook = HookServing.start(hookSocket, HookServer.fencing(reconciler), java.time.Duration.ofSeconds(1),
                        registry, standingBy);
            }
        }
    }

    /** Before the pipeline drains at shutdown: no event outcome waits for a correction's acknowledgement any more. */
    void beforeDrain() {
        reconciler.releaseHeldOutcomes();
    }

    @Override
    public void close() {
        HookServing h;
        synchronized (hookLock) {
            h = hook;
        }
        if (h != null) {
            h.close();
        }
        reconciler.close();
        // bounded: each waits a while for its writes to be acknowledged, then fails (and logs) the rest
        journal.close();
        publisher.close();
    }
}
