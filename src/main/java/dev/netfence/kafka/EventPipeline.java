package dev.netfence.kafka;

import dev.netfence.enforce.Enforcer;
import dev.netfence.event.EventDecoder;
import dev.netfence.event.OutcomeCodec;
import dev.netfence.event.Outcomes;
import dev.netfence.ops.LoopHealth;
import dev.netfence.policy.store.PolicyStore;
import dev.netfence.reconcile.ContainerLifecycle;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The consumer loop of {@code netfence run}. One poll thread owns the consumer and the offset
 * bookkeeping and hands each record to the {@link RecordDispatcher} (decode, route, dead-letter,
 * or queue on a {@link KeyedExecutor} keyed by containerId: in order per container, concurrent
 * across containers). Workers post their outcome back to the
 * poll thread, waking it out of {@code poll()} ({@link PollWaker}), which passes it to the {@link OutputSink}; offsets are committed only up to the
 * first record whose outputs are not acknowledged (or, exactly-once, in the same transaction).
 * At most {@code maxInFlight} records are outstanding: beyond that the consumer seeks back and
 * pauses its partitions while it keeps polling. No record is read before the policy store caught
 * up. Partitions come and go through the {@link PartitionHandover} (node-partition mode: the
 * {@link NodePartitionAssigner}); on {@link #close} it stops polling and drains once
 * ({@link ShutdownDrain}). Fatal client errors recreate the clients, which resume from the last
 * committed offsets; fenced out by another instance of its node, it stands by first
 * ({@link FencedStandby}).
 * Readiness also watches the {@link PartitionMonitor}'s oldest unacknowledged record.
 */
public final class EventPipeline implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EventPipeline.class);
    /** How often node-partition mode re-reads the events topic's partition count (from cached metadata). */
    private static final Duration NODE_PARTITION_CHECK = Duration.ofSeconds(2);
    private static final Duration SEND_REFUSAL_BOUND = Duration.ofSeconds(30);

    private final PipelineSettings settings;
    private final NodeRouting routing;
    private final PolicyStore policies;
    private final PipelineMetrics metrics;
    private final PollWaker waker = new PollWaker();
    private final Completions completions = new Completions(waker::wake);
    private final KeyedExecutor workers;
    private final RecordDispatcher dispatcher;
    private final BrokerProbe probe;
    private final OutputRecords records;
    private final SendHealth sendHealth;
    private final ProducerWatchdog watchdog;
    private final String transactionalId;
    private final FencedStandby standby;
    private final ShutdownDrain shutdownDrain;
    private final KeylessOwnership keyless;
    private final PartitionMonitor monitor;
    private final OpenTransactions openTransactions;
    private final Clock steady;
    private final PartitionBook partitions;
    private final FlowWindow window;
    private final PartitionHandover handover;
    private final LoopHealth health;
    private final Readiness readiness;
    private final CountDownLatch terminated = new CountDownLatch(1);
    private volatile boolean stopping;
    private volatile NodePartitionAssigner nodePartitions;
    private volatile boolean running;
    private Thread pollThread;
    private OutputSink sink;
    private final ContainerLifecycle lifecycle;

    /** A pipeline that reports missing/invalid policies without quarantining (tests, dry runs). */
    public EventPipeline(PipelineSettings settings, Enforcer enforcer, PolicyStore policies, MeterRegistry registry,
                         Clock clock) {
        this(settings, enforcer, PolicyFailureHandler.REPORT_ONLY, policies, registry, clock);
    }

    public EventPipeline(PipelineSettings settings, Enforcer enforcer, PolicyFailureHandler failClosed,
                         PolicyStore policies, MeterRegistry registry, Clock clock) {
        this(settings, enforcer, failClosed, policies, registry, clock, ContainerLifecycle.NONE);
    }

    /**
     * Start and stop events also go through the reconciler's {@code lifecycle}; waits are measured,
     * and deadlines set, on {@code clock} (tests: netfence uses the form below with a steady clock).
     */
    public EventPipeline(PipelineSettings settings, Enforcer enforcer, PolicyFailureHandler failClosed,
                         PolicyStore policies, MeterRegistry registry, Clock clock, ContainerLifecycle lifecycle) {
        this(settings, enforcer, failClosed, policies, registry, clock, clock, lifecycle);
    }

    /**
     * The production form: {@code clock} stamps outcomes and event latencies; {@code steady} (a
     * {@link dev.netfence.core.SteadyClock}) measures waits: the loop's liveness, stalled partitions,
     * refused outputs and the fenced standby's back-off; each event's deadline is set on it too, so
     * the enforcer must check deadlines on the same timeline (netfence gives both
     * {@link dev.netfence.core.SteadyClock#system()}).
     */
    public EventPipeline(PipelineSettings settings, Enforcer enforcer, PolicyFailureHandler failClosed,
                         PolicyStore policies, MeterRegistry registry, Clock clock, Clock steady,
                         ContainerLifecycle lifecycle) {
        this.settings = settings;
        this.lifecycle = java.util.Objects.requireNonNull(lifecycle, "lifecycle");
        this.steady = java.util.Objects.requireNonNull(steady, "steady");
        this.health = new LoopHealth(steady, settings.stallThreshold());
        this.routing = new NodeRouting(settings.nodeId());
        this.policies = policies;
        Outcomes outcomes = new Outcomes(clock, settings.instance(), settings.version());
        this.records = new OutputRecords(new OutcomeCodec(), settings.outcomesTopic(), settings.dlqTopic(),
                settings.instance(), settings.nodeId());
        this.workers = new KeyedExecutor(settings.concurrency(), "netfence-worker");
        // interrupted by the workers' shutdown (or failing after it), an event's work is abandoned, not failed closed
        EventHandler handler = new EventHandler(policies, enforcer, failClosed, outcomes, steady, settings.policyWait(),
                settings.eventDeadline(), lifecycle, workers::shutDown);
        this.metrics = new PipelineMetrics(registry, clock, lifecycle::published, lifecycle::dropped);
        this.keyless = new KeylessOwnership(settings, routing);
        RecordRouter router = new RecordRouter(new EventDecoder(), routing, keyless,
                settings.assignment() == Assignment.GROUP).counted(registry);
        this.dispatcher = new RecordDispatcher(router, metrics, workers, handler, records, outcomes, completions,
                this::emit, new ProblemLog(steady));
        this.probe = new BrokerProbe(KafkaClients.adminSettings(settings),
                new EventsTopicWatch(settings.eventsTopic(), settings.assignment() == Assignment.GROUP));
        this.sendHealth = new SendHealth(steady, SEND_REFUSAL_BOUND);
        this.watchdog = ProducerWatchdog.of(settings, steady);
        this.transactionalId = KafkaClients.transactionalId(settings, routing, java.util.UUID.randomUUID().toString());
        this.standby = new FencedStandby(settings, transactionalId, steady, registry);
        this.monitor = new PartitionMonitor(registry, steady);
        this.openTransactions = new OpenTransactions(registry, steady, policies::readCommittedPartitions);
        this.partitions = new PartitionBook(steady, monitor);
        this.window = new FlowWindow(settings.maxInFlight(), partitions, metrics);
        this.handover = new PartitionHandover(partitions, completions, () -> sink, settings.shutdownTimeout(),
                health::beat, waker, lifecycle::partitionsAssigned);
        this.shutdownDrain = new ShutdownDrain(settings.shutdownTimeout(), partitions, completions, workers, health::beat);
        this.readiness = new Readiness(() -> running && !stopping, partitions, policies, standby, probe, sendHealth,
                watchdog, monitor, openTransactions, settings.stallTimeout(), this::eventsTopicMissing);
    }

    /** Starts the poll thread; returns at once. */
    public synchronized void start() {
        if (pollThread != null) {
            throw new IllegalStateException("pipeline already started");
        }
        probe.start();
        openTransactions.start(probe::admin);
        pollThread = new Thread(this::run, "netfence-poll");
        pollThread.start();
    }

    /**
     * Ready: running, partitions assigned, policy store caught up, not standing by, broker
     * reachable, no output held or refused for long, and no record unacknowledged for longer than
     * the stall timeout.
     */
    public boolean ready() {
        return notReadyReason().isEmpty();
    }

    /**
     * Why the events topic is not followed as it is: missing (node-partition mode: as the consumer's
     * metadata shows it; group mode: the probe's), with fewer partitions (node-partition mode), or
     * made again since this instance began to read it ({@link EventsTopicWatch}).
     */
    private Optional<String> eventsTopicMissing() {
        NodePartitionAssigner assigner = nodePartitions;
        return (assigner == null ? Optional.<String>empty() : assigner.notFollowed()).or(probe::eventsTopic);
    }

    /** Why {@link #ready()} is false (for {@code /readyz}), or empty when it is ready. */
    public Optional<String> notReadyReason() {
        return readiness.notReadyReason();
    }

    /**
     * Live: the poll thread was started and has not died. (Standing by after being fenced it stays
     * alive: restarting it would only fence the instance that took over.)
     */
    public boolean alive() {
        Thread t = pollThread;
        return t != null && t.isAlive();
    }

    /**
     * The loop's liveness for {@code /healthz}: down once the loop has ended, or when it has not
     * finished a round for longer than {@link PipelineSettings#stallThreshold()} (alive but stuck).
     */
    public LoopHealth health() {
        return health;
    }

    /** Why {@code /healthz} is down beyond {@link #health()}: producers that stopped answering again and again. */
    public Optional<String> producerDeadReason() {
        return watchdog.deadReason();
    }

    /** The partitions currently assigned to this instance. */
    public Set<TopicPartition> assignment() {
        return partitions.assignment();
    }

    /** Waits until the pipeline has stopped. */
    public boolean awaitTermination(Duration timeout) throws InterruptedException {
        return terminated.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * Stops polling, drains within the shutdown timeout, commits and closes; idempotent. Returns
     * within the shutdown timeout plus {@link ShutdownBudget#AFTER_DRAIN} (final commit and client
     * closes), which is what a termination grace period must allow.
     */
    @Override
    public void close() {
        stopping = true;
        Thread t;
        synchronized (this) {
            t = pollThread;
        }
        if (t != null && t != Thread.currentThread()) {
            try {
                t.join(settings.shutdownTimeout().plus(ShutdownBudget.AFTER_DRAIN).plusSeconds(2).toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        openTransactions.close(); // before the probe: it asks through the probe's admin client
        probe.close();
    }

    private void run() {
        running = true;
        try {
            while (!stopping) {
                try {
                    runClients();
                } catch (RuntimeException e) {
                    long pause = standby.pauseAfter(e);
                    lifecycle.standingBy(standby.standingBy());
                    try {
                        standby.standBy(pause, () -> stopping, health::beat, () -> probe.hasStaticMember(
                                routing.groupId(), StaticMembership.instanceId(settings).orElse("")));
                    } catch (InterruptedException stopped) {
                        Thread.currentThread().interrupt();
                    }
                    standby.resume();
                    lifecycle.standingBy(false);
                }
            }
        } finally {
            running = false;
            health.stopped(stopping ? "shut down" : "the poll thread ended");
            workers.shutdown(1000);
            monitor.close();
            terminated.countDown();
        }
    }

    private void runClients() {
        sink = null; // the last round's, closed: not closed again should this round fail before it has its own
        standby.clientsCreated(); // a round that runs healthily ends the back-off of recreations
        KafkaClients.Pair clients = KafkaClients.both(settings, routing, transactionalId);
        KafkaConsumer<byte[], byte[]> c = clients.consumer();
        KafkaProducer<byte[], byte[]> p = clients.producer();
        watchdog.watch(clients.producing());
        boolean drained = false;
        try { // whatever fails from here (a keyless consumer not made: bootstrap names unresolvable) closes all
            metrics.bind(c, p);
            keyless.start();
            sink = settings.exactlyOnce() ? new BoundedFinalCommit(new TransactionalSink(p, c, metrics, records,
                    sendHealth, health::beat, watchdog), p, ShutdownBudget.FINAL_COMMIT)
                    : new AtLeastOnceSink(p, c, completions, metrics, records, sendHealth, watchdog);
            if (!awaitPolicies() || !subscribe(c)) {
                return;
            }
            long nextCommit = 0;
            long nextCheck = 0;
            while (!stopping) {
                health.beat();
                ConsumerRecords<byte[], byte[]> polled = waker.poll(c, pollTimeout(nextCommit), completions::pending);
                standby.polled(polled.count());
                keyless.poll();
                window.take(c, polled, dispatcher);
                completions.runAll();
                watchdog.check(); // throws for a producer that stopped answering: the clients are made again
                long now = System.nanoTime();
                // early only for what a commit lets go of: records done (a backlog of records still
                // being worked on, counted before, made every loop commit, one round trip each)
                if (now - nextCommit >= 0 || partitions.done() >= Math.max(1, settings.maxInFlight() / 2)) {
                    CommitRefresh.seed(c, partitions.all());
                    sink.commit(partitions.all(), false);
                    nextCommit = now + settings.commitInterval().toNanos();
                    monitor.update(c, partitions.all());
                    openTransactions.assigned(partitions.all());
                }
                if (nodePartitions != null && now - nextCheck >= 0) {
                    nodePartitions.follow(c, partitions, handover);
                    nextCheck = now + NODE_PARTITION_CHECK.toNanos();
                }
                window.apply(c, nodePartitions != null && nodePartitions.missing());
            }
            drained = true;
            handover.inert(true);
            shutdownDrain.run(c, sink);
        } finally {
            handover.inert(true);
            // consumer first (its listener is inert: the drain finished what it could, and after a
            // failure the work is abandoned), then the producer; the sink last, so nothing is refused
            Duration close = drained ? ShutdownBudget.CLIENT_CLOSE : Duration.ofSeconds(5);
            if (sink != null) {
                sink.closing(); // what the producer fails as it closes is no refusal: not replaced, done again
            }
            closeQuietly(() -> c.close(close), () -> p.close(watchdog.closeWithin(close)));
            if (sink != null) {
                sink.close();
            }
            metrics.close();
            keyless.close(close); // within the stop's budget too (a third client, ShutdownBudget.AFTER_DRAIN)
            partitions.clear();
            handover.inert(stopping);
        }
    }

    private boolean subscribe(KafkaConsumer<byte[], byte[]> c) {
        String topic = settings.eventsTopic();
        if (settings.assignment() == Assignment.GROUP) {
            c.subscribe(List.of(topic), handover);
            return true;
        }
        while (!stopping) {
            List<PartitionInfo> infos = c.partitionsFor(topic, Duration.ofSeconds(10));
            if (infos != null && !infos.isEmpty()) {
                nodePartitions = new NodePartitionAssigner(topic, routing, steady, NodePartitionAssigner.RETIRE_GRACE);
                Set<TopicPartition> mine = nodePartitions.initial(c, infos.size());
                c.assign(mine);
                handover.assigned(mine);
                return true;
            }
            LOG.warn("events topic {} has no partitions yet; waiting", topic);
            health.beat();
            sleep(1000);
        }
        return false;
    }

    /** Kafka Streams' rule for global tables: no event is read before the policy store caught up. */
    private boolean awaitPolicies() {
        if (!policies.isCaughtUp()) {
            LOG.info("waiting for the policy store to catch up before reading events");
            while (!stopping && !policies.isCaughtUp()) {
                health.beat();
                sleep(50);
            }
        }
        return !stopping;
    }

    /**
     * Poll thread: hands a finished record's outputs to the sink unless its partition moved away;
     * the record counts as done only once {@code journaled} completes too (its outputs go now).
     */
    private void emit(PartitionOffsets po, long offset, List<Output> outs, CompletableFuture<Void> journaled) {
        if (partitions.get(po.partition()) != po || !po.isTracked(offset)) {
            outs.stream().filter(o -> o.outcome() != null).forEach(o -> metrics.outcomeDropped(o.outcome()));
            return;
        }
        if (!journaled.isDone()) {
            Runnable arrived = po.await(offset);
            journaled.whenComplete((v, e) -> completions.post(arrived));
        }
        sink.emit(po, offset, outs);
    }

    /**
     * The poll's timeout: completions wake it ({@link PollWaker}), so it need not be short to notice
     * them; while records are outstanding it ends no later than the next commit is due.
     */
    private Duration pollTimeout(long nextCommit) {
        Duration full = settings.pollTimeout();
        if (outstanding() == 0) {
            return full;
        }
        long untilCommit = Math.max(0, nextCommit - System.nanoTime());
        return untilCommit < full.toNanos() ? Duration.ofNanos(untilCommit) : full;
    }

    private int outstanding() {
        return partitions.outstanding();
    }

    private static void closeQuietly(AutoCloseable... clients) {
        for (AutoCloseable client : clients) {
            try {
                client.close();
            } catch (Exception e) {
                LOG.warn("closing a Kafka client failed: {}", e.toString());
            }
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
