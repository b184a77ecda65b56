package dev.netfence.kafka;

import dev.netfence.core.MeterNames;
import dev.netfence.event.Outcome;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.producer.Producer;

/**
 * The pipeline's Micrometer meters: {@code netfence.events.consumed} (tag type),
 * {@code netfence.outcomes} (tags status, code), {@code netfence.dlq.records} (tag code),
 * {@code netfence.events.skipped} (tag reason), {@code netfence.event.latency} (event occurred
 * to outcome acknowledged), {@code netfence.send.retries}, {@code netfence.send.errors},
 * {@code netfence.transactions.aborted}, gauges {@code netfence.inflight} and {@code netfence.partitions.paused},
 * plus the Kafka clients' own metrics (consumer lag among them) through {@link KafkaClientMetrics}.
 */
final class PipelineMetrics implements AutoCloseable {
    private final MeterRegistry registry;
    private final Clock clock;
    private final AtomicInteger inflight = new AtomicInteger();
    private final AtomicInteger paused = new AtomicInteger();
    private final Timer latency;
    private final List<KafkaClientMetrics> clientMetrics = new ArrayList<>();
    /** Counters by their tag values: registering (building the id, sorting tags) per event showed in the profile. */
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();
    private final java.util.function.Consumer<Outcome> published;
    private final java.util.function.Consumer<Outcome> dropped;

    PipelineMetrics(MeterRegistry registry, Clock clock) {
        this(registry, clock, o -> { });
    }

    /** @param published told of every outcome once it is out: acknowledged, committed, or dropped */
    PipelineMetrics(MeterRegistry registry, Clock clock, java.util.function.Consumer<Outcome> published) {
        this(registry, clock, published, published);
    }

    /**
     * @param published told of every outcome once it is out: acknowledged, or committed (exactly-once)
     * @param dropped told of every outcome this instance will never send ({@link #outcomeDropped})
     */
    PipelineMetrics(MeterRegistry registry, Clock clock, java.util.function.Consumer<Outcome> published,
            java.util.function.Consumer<Outcome> dropped) {
        this.published = java.util.Objects.requireNonNull(published, "published");
        this.dropped = java.util.Objects.requireNonNull(dropped, "dropped");
        this.registry = registry;
        this.clock = clock;
        registry.gauge(MeterNames.INFLIGHT, inflight);
        registry.gauge(MeterNames.PARTITIONS_PAUSED, paused);
        this.latency = Timer.builder(MeterNames.EVENT_LATENCY)
                .description("from the event's occurredAt to its outcome being acknowledged")
                .publishPercentileHistogram()
                .register(registry);
    }

    void consumed(String type) {
        counter(MeterNames.EVENTS_CONSUMED, "type", type, null, null).increment();
    }

    void skipped(String reason) {
        counter(MeterNames.EVENTS_SKIPPED, "reason", reason, null, null).increment();
    }

    /**
     * An event's outcome this instance will never send (its partition went before the outcome was
     * emitted, or the outcomes topic refused it and a dead letter goes instead): told as out, so that
     * what waits behind it in its container's outcome order goes now instead of after the hold.
     * Counted nowhere else.
     */
    void outcomeDropped(Outcome o) {
        dropped.accept(o);
    }

    void outcomeAcked(Outcome o) {
        published.accept(o);
        counter(MeterNames.OUTCOMES, "status", o.status(), "code", o.errorCode() == null ? "none" : o.errorCode())
                .increment();
        if (o.eventOccurredAt() != null) {
            Duration d = Duration.between(o.eventOccurredAt(), clock.instant());
            latency.record(d.isNegative() ? Duration.ZERO : d);
        }
    }

    void deadLetterAcked(String code) {
        counter(MeterNames.DLQ_RECORDS, "code", code, null, null).increment();
    }

    /** An output is sent again after a failed attempt (see {@code MeterNames.SEND_RETRIES}). */
    void sendRetried(String topic, int outputs) {
        counter(MeterNames.SEND_RETRIES, "topic", topic, null, null).increment(outputs);
    }

    /** A send failed for good (see {@code MeterNames.SEND_ERRORS}). */
    void sendFailed(String topic, String kind, Throwable error) {
        String id = MeterNames.SEND_ERRORS + '\0' + topic + '\0' + kind + '\0' + error.getClass().getSimpleName();
        counters.computeIfAbsent(id, k -> Counter.builder(MeterNames.SEND_ERRORS).tag("topic", topic)
                .tag("kind", kind).tag("error", error.getClass().getSimpleName()).register(registry)).increment();
    }

    /** An exactly-once transaction was aborted (see {@code MeterNames.TRANSACTIONS_ABORTED}). */
    void transactionAborted(Throwable cause) {
        counter(MeterNames.TRANSACTIONS_ABORTED, "error", cause.getClass().getSimpleName(), null, null).increment();
    }

    /** An asynchronous offset commit failed (see {@code MeterNames.COMMIT_FAILURES}); the next round commits again. */
    void commitFailed(Throwable error) {
        counter(MeterNames.COMMIT_FAILURES, "error", error.getClass().getSimpleName(), null, null).increment();
    }

    /** The counter {@code name} with one or two tags, registered on first use. Tag values are bounded sets. */
    private Counter counter(String name, String key1, String value1, String key2, String value2) {
        String id = name + '\0' + value1 + '\0' + value2;
        Counter c = counters.get(id);
        if (c == null) {
            Counter.Builder b = key2 == null ? Counter.builder(name).tag(key1, value1)
                    : Counter.builder(name).tag(key1, value1).tag(key2, value2);
            c = counters.computeIfAbsent(id, k -> b.register(registry));
        }
        return c;
    }

    void inflight(int n) {
        inflight.set(n);
    }

    void paused(int n) {
        paused.set(n);
    }

    void bind(Consumer<?, ?> consumer, Producer<?, ?> producer) {
        KafkaClientMetrics c = new KafkaClientMetrics(consumer);
        KafkaClientMetrics p = new KafkaClientMetrics(producer);
        c.bindTo(registry);
        p.bindTo(registry);
        clientMetrics.add(c);
        clientMetrics.add(p);
    }

    @Override
    public void close() {
        clientMetrics.forEach(KafkaClientMetrics::close);
        clientMetrics.clear();
    }
}
