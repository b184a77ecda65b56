package dev.netfence.kafka;

import dev.netfence.enforce.Enforcer;
import dev.netfence.event.EventDecoder;
import dev.netfence.event.OutcomeCodec;
import dev.netfence.event.Outcomes;
import dev.netfence.ops.LoopHealth;
import dev.netfence.policy.store.PolicyStore;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
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
 * poll thread, which passes it to the {@link OutputSink}; offsets are committed only up to the
 * first record whose outputs are not acknowledged (or, exactly-once, in the same transaction).
 * At most {@code maxInFlight} records are outstanding: beyond that the consumer seeks back and
 * pauses its partitions while it keeps polling. On revoke it finishes (bounded) and commits the
 * revoked partitions' work; on loss it drops it; on {@link #close} it stops polling, drains
 * within the shutdown timeout, commits and closes. Fatal client errors recreate the clients,
 * which resume from the last committed offsets.
 */
public final class EventPipeline implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EventPipeline.class);
    private static final long BUSY_POLL_MILLIS = 2;
    private static final long MAX_WAITING_POLL_MILLIS = 8;
    private static final Duration SEND_REFUSAL_BOUND = Duration.ofSeconds(30);

    private final PipelineSettings settings;
    private final NodeRouting routing;
    private final PolicyStore policies;
    private final PipelineMetrics metrics;
    private final Completions completions = new Completions();
    private final KeyedExecutor workers;
    private final RecordDispatcher dispatcher;
    private final BrokerProbe probe;
    private final OutputRecords records;
    private final SendHealth sendHealth;
    private final String transactionalId;
    private final FencedStandby standby;
    private final KeylessOwnership keyless;
    private final Map<TopicPartition, PartitionOffsets> partitions = new HashMap<>();
    private final CountDownLatch terminated = new CountDownLatch(1);
    private final LoopHealth health;
    private volatile boolean stopping;
    private volatile boolean running;
    private volatile boolean assignedOnce;
    private volatile Set<TopicPartition> assignment = Set.of();
    private Thread pollThread;
    /** Poll thread only: the timeout of the next poll while records are outstanding. */
    private long waitingPollMillis = BUSY_POLL_MILLIS;
    private KafkaConsumer<byte[], byte[]> consumer;
    private OutputSink sink;

    /** A pipeline that reports missing/invalid policies without quarantining (tests, dry runs). */
    public EventPipeline(PipelineSettings settings, Enforcer enforcer, PolicyStore policies, MeterRegistry registry,
                         Clock clock) {
        this(settings, enforcer, PolicyFailureHandler.REPORT_ONLY, policies, registry, clock);
    }

    public EventPipeline(PipelineSettings settings, Enforcer enforcer, PolicyFailureHandler failClosed,
                         PolicyStore policies, MeterRegistry registry, Clock clock) {
        this.settings = settings;
        this.health = new LoopHealth(clock, settings.stallThreshold());
        this.routing = new NodeRouting(settings.nodeId());
        this.policies = policies;
        Outcomes outcomes = new Outcomes(clock, settings.instance(), settings.version());
        this.records = new OutputRecords(new OutcomeCodec(), settings.outcomesTopic(), settings.dlqTopic(),
                settings.instance(), settings.nodeId());
        EventHandler handler = new EventHandler(policies, enforcer, failClosed, outcomes, clock, settings.policyWait(),
                settings.eventDeadline());
        this.metrics = new PipelineMetrics(registry, clock);
        this.workers = new KeyedExecutor(settings.concurrency(), "netfence-worker");
        this.keyless = new KeylessOwnership(settings, routing);
        this.dispatcher = new RecordDispatcher(new EventDecoder(), routing, keyless, metrics, workers, handler, records, outcomes,
                completions, this::emit);
        this.probe = new BrokerProbe(KafkaClients.adminSettings(settings));
        this.sendHealth = new SendHealth(clock, SEND_REFUSAL_BOUND);
        this.transactionalId = KafkaClients.transactionalId(settings, routing, java.util.UUID.randomUUID().toString());
        this.standby = new FencedStandby(settings.exactlyOnce() && settings.assignment() == Assignment.NODE_PARTITION,
                transactionalId);
    }

    /** Starts the poll thread; returns at once. */
    public synchronized void start() {
        if (pollThread != null) {
            throw new IllegalStateException("pipeline already started");
        }
        probe.start();
        pollThread = new Thread(this::run, "netfence-poll");
        pollThread.start();
    }

    /** Ready: running, partitions assigned, policy store caught up, broker reachable, no output held or refused for long. */
    public boolean ready() {
        return notReadyReason().isEmpty();
    }

    /** Why {@link #ready()} is false (for {@code /readyz}), or empty when it is ready. */
    public Optional<String> notReadyReason() {
        if (!running || stopping) {
            return Optional.of("the consumer loop is not running");
        }
        if (!assignedOnce) {
            return Optional.of("no partition assignment received yet");
        }
        if (!policies.isCaughtUp()) {
            return Optional.of("the policy store has not caught up");
        }
        Optional<String> standingBy = standby.reason();
        if (standingBy.isPresent()) {
            return standingBy;
        }
        if (!probe.reachable()) {
            return Optional.of("the Kafka broker is not reachable");
        }
        return sendHealth.notReadyReason();
    }

    /** Live: the poll thread was started and has not died. */
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

    /** The partitions currently assigned to this instance. */
    public Set<TopicPartition> assignment() {
        return assignment;
    }

    /** Waits until the pipeline has stopped. */
    public boolean awaitTermination(Duration timeout) throws InterruptedException {
        return terminated.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Stops polling, drains within the shutdown timeout, commits and closes; idempotent. */
    @Override
    public void close() {
        stopping = true;
        Thread t;
        synchronized (this) {
            t = pollThread;
        }
        if (t != null && t != Thread.currentThread()) {
            try {
                t.join(settings.shutdownTimeout().plusSeconds(20).toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
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
                    for (long end = System.nanoTime() + pause * 1_000_000; !stopping && System.nanoTime() < end; ) {
                        health.beat();
                        sleep(100);
                    }
                    standby.resume();
                }
            }
        } finally {
            running = false;
            health.stopped(stopping ? "shut down" : "the poll thread ended");
            workers.shutdown(1000);
            terminated.countDown();
        }
    }

    private void runClients() {
        KafkaConsumer<byte[], byte[]> c = KafkaClients.consumer(settings, routing);
        KafkaProducer<byte[], byte[]> p = KafkaClients.producer(settings, routing, transactionalId);
        consumer = c;
        metrics.bind(c, p);
        keyless.start();
        try {
            sink = settings.exactlyOnce() ? new TransactionalSink(p, c, metrics, records, sendHealth)
                    : new AtLeastOnceSink(p, c, completions, metrics, records, sendHealth);
            if (!subscribe(c)) {
                return;
            }
            long nextCommit = 0;
            while (!stopping) {
                health.beat();
                ConsumerRecords<byte[], byte[]> polled = c.poll(pollTimeout());
                keyless.poll();
                dispatchAll(polled);
                boolean busy = completions.runAll() > 0 || !polled.isEmpty();
                waitingPollMillis = busy ? BUSY_POLL_MILLIS : Math.min(2 * waitingPollMillis, MAX_WAITING_POLL_MILLIS);
                long now = System.nanoTime();
                if (now - nextCommit >= 0 || outstanding() >= settings.maxInFlight() / 2) {
                    sink.commit(List.copyOf(partitions.values()), false);
                    nextCommit = now + settings.commitInterval().toNanos();
                }
                flowControl();
            }
            drain();
        } finally {
            if (sink != null) {
                sink.close();
            }
            closeQuietly(() -> p.close(Duration.ofSeconds(5)), () -> c.close(Duration.ofSeconds(5)));
            metrics.close();
            keyless.close();
            partitions.clear();
            assignment = Set.of();
        }
    }

    private boolean subscribe(KafkaConsumer<byte[], byte[]> c) {
        String topic = settings.eventsTopic();
        if (settings.assignment() == Assignment.GROUP) {
            c.subscribe(List.of(topic), new Rebalance());
            return true;
        }
        while (!stopping) {
            List<PartitionInfo> infos = c.partitionsFor(topic, Duration.ofSeconds(10));
            if (infos != null && !infos.isEmpty()) {
                List<TopicPartition> mine = routing.partitionsToRead(topic, infos.size());
                c.assign(mine);
                assigned(mine);
                return true;
            }
            LOG.warn("events topic {} has no partitions yet; waiting", topic);
            health.beat();
            sleep(1000);
        }
        return false;
    }

    private void dispatchAll(ConsumerRecords<byte[], byte[]> polled) {
        int outstanding = outstanding();
        for (TopicPartition tp : polled.partitions()) {
            PartitionOffsets po = partitions.get(tp);
            if (po == null) {
                continue;
            }
            for (ConsumerRecord<byte[], byte[]> r : polled.records(tp)) {
                if (outstanding >= settings.maxInFlight()) {
                    consumer.seek(tp, r.offset());
                    break;
                }
                dispatcher.dispatch(po, r);
                outstanding++;
            }
        }
    }

    /** Poll thread: hands a finished record's outputs to the sink unless its partition moved away. */
    private void emit(PartitionOffsets po, long offset, List<Output> outs) {
        if (partitions.get(po.partition()) != po || !po.isTracked(offset)) {
            return;
        }
        sink.emit(po, offset, outs);
    }

    /**
     * Completions (finished workers, producer acks, commit callbacks) are only handled between
     * polls, and a poll with nothing to fetch (caught up, or paused at max-in-flight) blocks for
     * its whole timeout: so while records are outstanding, poll briefly, else outcomes and
     * commits wait up to a full poll timeout each round trip (measured: 500-700 events/s). Briefly
     * means 2 ms after a round that did something, doubling up to 8 ms while rounds find nothing
     * to do: real applications take tens of milliseconds, and spinning at 2 ms cost the poll
     * thread about 2.6 ms of CPU per applied event in the enforcement benchmark.
     */
    private Duration pollTimeout() {
        return outstanding() > 0 ? Duration.ofMillis(waitingPollMillis) : settings.pollTimeout();
    }

    private int outstanding() {
        int n = 0;
        for (PartitionOffsets po : partitions.values()) {
            n += po.uncommitted();
        }
        return n;
    }

    private void flowControl() {
        int outstanding = outstanding();
        metrics.inflight(outstanding);
        if (outstanding >= settings.maxInFlight()) {
            consumer.pause(consumer.assignment());
        } else if (!consumer.paused().isEmpty()) {
            consumer.resume(consumer.paused());
        }
        metrics.paused(consumer.paused().size());
    }

    private void drain() {
        long deadline = System.nanoTime() + settings.shutdownTimeout().toNanos();
        while (working(partitions.values()) > 0 && System.nanoTime() - deadline < 0) {
            health.beat();
            consumer.pause(consumer.assignment());
            consumer.poll(Duration.ofMillis(20));
            completions.runAll();
        }
        completions.runAll();
        int left = working(partitions.values());
        if (left > 0) {
            LOG.warn("shutdown timeout passed with {} records unfinished; they will be redelivered", left);
        }
        try {
            sink.commit(List.copyOf(partitions.values()), true);
        } catch (RuntimeException e) {
            LOG.warn("final offset commit failed; uncommitted records will be redelivered: {}", e.toString());
        }
    }

    private static int working(Collection<PartitionOffsets> ps) {
        int n = 0;
        for (PartitionOffsets po : ps) {
            n += po.working();
        }
        return n;
    }

    private void assigned(Collection<TopicPartition> tps) {
        for (TopicPartition tp : tps) {
            partitions.put(tp, new PartitionOffsets(tp));
        }
        assignment = Set.copyOf(partitions.keySet());
        assignedOnce = true;
        LOG.info("assigned {}", tps);
    }

    /** Rebalance callbacks; they run on the poll thread inside poll(). */
    private final class Rebalance implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> tps) {
            assigned(tps);
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> tps) {
            List<PartitionOffsets> leaving = tps.stream().map(partitions::get).filter(p -> p != null).toList();
            long deadline = System.nanoTime() + settings.shutdownTimeout().toNanos();
            while (working(leaving) > 0 && System.nanoTime() - deadline < 0) {
                health.beat();
                completions.runAll();
                sleep(5);
            }
            completions.runAll();
            try {
                sink.commit(leaving, true);
            } catch (OutputSink.FatalClientException e) {
                throw e;
            } catch (RuntimeException e) {
                LOG.warn("commit on revoke failed; the new owner will redo those records: {}", e.toString());
            }
            tps.forEach(partitions::remove);
            assignment = Set.copyOf(partitions.keySet());
            LOG.info("revoked {}", tps);
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> tps) {
            tps.forEach(partitions::remove);
            assignment = Set.copyOf(partitions.keySet());
            LOG.warn("lost {}; their unfinished work is dropped", tps);
        }
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
