package dev.netfence.kafka;

import dev.netfence.core.MeterNames;
import dev.netfence.event.Outcome;
import dev.netfence.event.OutcomeCodec;
import dev.netfence.reconcile.OutcomePublisher;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes the reconciler's outcomes (policy updates, drift repairs, re-resolves, releases) to
 * the outcomes topic with the records and headers of event outcomes, through its own idempotent
 * producer: these outcomes answer no consumed record, so they are not part of the pipeline's
 * offset bookkeeping or its transactions. {@link #publish} only queues (in order, up to
 * {@value #QUEUE} outcomes; past that an outcome is dropped and logged): the send runs on this
 * publisher's thread, because a send waits for the topic's metadata up to the producer's
 * {@code max.block.ms} (60 s) while the broker is away, and the callers hold a container's lock
 * and the outcome order's. Kafka's producer retries retriable errors itself; a terminal failure
 * is logged, and every outcome not published is counted in {@code netfence.outcomes.unpublished}
 * (tag {@code reason}: {@code queue-full}, {@code stopping}, {@code send-failed}): it is not sent
 * again (the reconciler publishes the container's state anew at its next resync), and its tracked
 * future completes exceptionally (normally only once the broker acknowledged
 * it), also when it comes while the publisher closes. Each tracked outcome settles within
 * {@link #settlesWithin} (30 s) of being queued: one that waited in the queue over
 * {@link #QUEUE_WAIT} is given up without a send (the broker did not know the topic for that long;
 * counted as {@code send-failed}), a send waits for metadata at most {@link #MAX_BLOCK}, and the
 * producer reports every record within {@link #DELIVERY_TIMEOUT}. The
 * outcome order holds a container's event outcomes behind a sent correction that long, so a slow
 * acknowledgement cannot let a correction land after an event outcome that followed it; and the
 * container's next event waits for that outcome, so the bound is short: a correction the broker
 * does not take within it is not published (counted), rather than holding the container's next
 * enforcement for minutes. These settings cannot be overridden ({@code linger.ms} and
 * {@code request.timeout.ms} are capped to fit). Thread-safe.
 */
public final class KafkaOutcomePublisher implements OutcomePublisher, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(KafkaOutcomePublisher.class);
    static final int QUEUE = 10_000;
    /** How long closing waits for the queued and sent outcomes to be acknowledged. */
    static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(10);
    /** The longest an outcome waits in the queue before it is given up without a send. */
    static final Duration QUEUE_WAIT = Duration.ofSeconds(5);
    /** The producer's {@code max.block.ms}: how long one send waits for the topic's metadata. */
    static final Duration MAX_BLOCK = Duration.ofSeconds(5);
    /** The producer's {@code delivery.timeout.ms}: when it reports a record it could not deliver. */
    static final Duration DELIVERY_TIMEOUT = Duration.ofSeconds(20);
    /** The most {@code linger.ms} and {@code request.timeout.ms} may be: the producer needs their sum within the delivery timeout. */
    static final Duration LINGER_CAP = Duration.ofSeconds(5);
    static final Duration REQUEST_CAP = Duration.ofSeconds(15);

    private final Producer<byte[], byte[]> producer;
    private final OutputRecords records;
    private final BlockingQueue<Pending> queue;
    private final Thread sender;
    private volatile boolean closing;
    private final Counter queueFull;
    private final Counter stopping;
    private final Counter sendFailed;
    private final Clock steady;

    /** @param kafka client settings (bootstrap.servers, TLS/SASL) */
    public KafkaOutcomePublisher(Map<String, Object> kafka, String outcomesTopic, String instance, String nodeId,
            MeterRegistry registry) {
        this(producer(kafka), outcomesTopic, instance, nodeId, registry, dev.netfence.core.SteadyClock.system());
    }

    KafkaOutcomePublisher(Producer<byte[], byte[]> producer, String outcomesTopic, String instance, String nodeId,
            MeterRegistry registry) {
        this(producer, outcomesTopic, instance, nodeId, registry, dev.netfence.core.SteadyClock.system());
    }

    /** @param steady the timeline of {@link #QUEUE_WAIT} */
    KafkaOutcomePublisher(Producer<byte[], byte[]> producer, String outcomesTopic, String instance, String nodeId,
            MeterRegistry registry, Clock steady) {
        this(producer, outcomesTopic, instance, nodeId, registry, steady, new LinkedBlockingQueue<>(QUEUE));
    }

    /** @param queue where outcomes wait for the sender, bounded ({@link #QUEUE}) */
    KafkaOutcomePublisher(Producer<byte[], byte[]> producer, String outcomesTopic, String instance, String nodeId,
            MeterRegistry registry, Clock steady, BlockingQueue<Pending> queue) {
        this.producer = producer;
        this.queue = java.util.Objects.requireNonNull(queue, "queue");
        this.steady = java.util.Objects.requireNonNull(steady, "steady");
        this.queueFull = unpublished(registry, "queue-full");
        this.stopping = unpublished(registry, "stopping");
        this.sendFailed = unpublished(registry, "send-failed");
        this.records = new OutputRecords(new OutcomeCodec(), outcomesTopic, outcomesTopic + ".unused", instance, nodeId);
        this.sender = new Thread(this::run, "netfence-reconcile-outcomes");
        sender.setDaemon(true);
        sender.start();
    }

    private static Counter unpublished(MeterRegistry registry, String reason) {
        return Counter.builder(MeterNames.OUTCOMES_UNPUBLISHED).tag("reason", reason)
                .description("reconciler outcomes (drift, policy-update, removed...) not published, never sent again")
                .register(registry);
    }

    private static Producer<byte[], byte[]> producer(Map<String, Object> kafka) {
        return new KafkaProducer<>(producerConfig(kafka), new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** The reconciler producer's settings: {@code kafka}'s producer settings, then what netfence requires. */
    static Map<String, Object> producerConfig(Map<String, Object> kafka) {
        Map<String, Object> conf = new HashMap<>(kafka);
        conf.keySet().removeIf(k -> !ProducerConfig.configNames().contains(k));
        conf.put(ProducerConfig.ACKS_CONFIG, "all");
        conf.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        conf.put(ProducerConfig.CLIENT_ID_CONFIG, "netfence-reconciler");
        conf.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) MAX_BLOCK.toMillis());
        conf.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) DELIVERY_TIMEOUT.toMillis());
        // the producer refuses a delivery timeout below linger.ms + request.timeout.ms
        conf.put(ProducerConfig.LINGER_MS_CONFIG,
                (int) Math.min(millis(kafka, ProducerConfig.LINGER_MS_CONFIG, 5), LINGER_CAP.toMillis()));
        conf.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG,
                (int) Math.min(millis(kafka, ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 30_000), REQUEST_CAP.toMillis()));
        return conf;
    }

    private static long millis(Map<String, Object> kafka, String key, long fallback) {
        Object v = kafka.get(key);
        try {
            return v == null ? fallback : Long.parseLong(v.toString().trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a number of milliseconds, was: " + v, e);
        }
    }

    /** Every tracked outcome's future completes within this of {@link #publishTracked}. */
    @Override
    public Duration settlesWithin() {
        return QUEUE_WAIT.plus(MAX_BLOCK).plus(DELIVERY_TIMEOUT);
    }

    /** Queues the outcome; never blocks. */
    @Override
    public void publish(Outcome outcome) {
        publishTracked(outcome);
    }

    /**
     * Queues the outcome; never blocks. The future completes normally when the broker acknowledged
     * the outcome, and exceptionally when it is not published (refused here, given up, failed, or
     * netfence stopping). An outcome queued while {@link #close} began is taken back: the sender and
     * the last sweep may both have passed it, and it would never be settled.
     */
    @Override
    public CompletableFuture<Void> publishTracked(Outcome outcome) {
        Pending p = new Pending(outcome, new CompletableFuture<>(), steady.instant());
        if (closing) {
            notPublished(p, stopping, "netfence is stopping", null);
        } else if (!queue.offer(p)) {
            notPublished(p, queueFull, QUEUE + " outcomes are already waiting for the broker", null);
        } else if (closing && queue.remove(p)) { // else the sender or close()'s sweep has it and settles it
            notPublished(p, stopping, "netfence is stopping", null);
        }
        return p.settled();
    }

    /** A queued outcome and what completes once its send settles (identity: its future). */
    record Pending(Outcome outcome, CompletableFuture<Void> settled, Instant queued) {}

    private void run() {
        while (!closing || !queue.isEmpty()) {
            Pending p;
            try {
                p = queue.poll(100, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
            if (p != null) {
                send(p);
            }
        }
    }

    private void send(Pending p) {
        if (Duration.between(p.queued(), steady.instant()).compareTo(QUEUE_WAIT) > 0) {
            notPublished(p, sendFailed, "waited over " + QUEUE_WAIT.toSeconds()
                    + " s for the broker before it could be sent", null);
            return;
        }
        try {
            producer.send(records.outcome(p.outcome()), (md, e) -> {
                if (e != null) {
                    notPublished(p, sendFailed, e.toString(), e);
                } else {
                    p.settled().complete(null);
                }
            });
        } catch (RuntimeException e) {
            notPublished(p, sendFailed, e.toString(), e);
        }
    }

    /**
     * Settles {@code p} as not published, {@code why} (logged, counted under {@code reason}), unless
     * it is settled already: its future fails, so no caller takes it for acknowledged.
     */
    private void notPublished(Pending p, Counter reason, String why, Throwable cause) {
        String message = "the " + p.outcome().trigger() + " outcome of container " + p.outcome().containerId()
                + " was not published: " + why;
        if (p.settled().completeExceptionally(new IllegalStateException(message, cause))) {
            reason.increment();
            LOG.error(message);
        }
    }

    /** How many outcomes wait for the sender (tests). */
    int queued() {
        return queue.size();
    }

    /**
     * Lets the sender hand over what is queued and the producer deliver it, both within 10 s; the
     * producer fails what is left, each logged as not published, as is each outcome still queued.
     */
    @Override
    public void close() {
        long deadline = System.nanoTime() + CLOSE_TIMEOUT.toNanos();
        closing = true;
        try {
            sender.join(CLOSE_TIMEOUT.toMillis() / 2);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        sender.interrupt();
        producer.close(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
        for (Pending p = queue.poll(); p != null; p = queue.poll()) {
            notPublished(p, stopping, "netfence stopped before the broker took it", null);
        }
    }
}
