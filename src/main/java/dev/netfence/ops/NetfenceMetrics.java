package dev.netfence.ops;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.distribution.DistributionStatisticConfig;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.Set;

/**
 * Creates the one Prometheus-backed meter registry of a netfence process and names its meters.
 * The registry publishes percentile histograms for the two latency timers, so dashboards can
 * compute quantiles across nodes from {@code _bucket} series, and it carries the JVM and process
 * binders (memory, GC, threads, CPU, uptime, file descriptors). The pipeline registers its own
 * meters on {@link #registry()} under the names below; {@link MetricsServer} exposes them.
 * Closing releases the GC notification listener and the registry.
 */
public final class NetfenceMetrics implements AutoCloseable {

    /** Counter, tag {@code type}: events read from the events topic. */
    public static final String EVENTS_CONSUMED = "netfence.events.consumed";
    /** Counter, tags {@code status}, {@code code}: outcomes published. */
    public static final String OUTCOMES = "netfence.outcomes";
    /** Counter, tag {@code code}: enforcement retries. */
    public static final String RETRIES = "netfence.retries";
    /** Counter, tag {@code code}: records written to the dead-letter topic. */
    public static final String DLQ_RECORDS = "netfence.dlq.records";
    /**
     * Counter, tag {@code topic}: outputs (outcomes, dead letters) netfence sends again after a failed
     * attempt: in exactly-once mode the outputs of an aborted transaction that go into the next one, in
     * at-least-once mode an output re-sent in a replacement form (a dead letter without its value).
     * The producer's own in-order retries of retriable errors are the client metric
     * {@code kafka.producer.record.retry.total}.
     */
    public static final String SEND_RETRIES = "netfence.send.retries";
    /**
     * Counter, tags {@code topic}, {@code kind} ({@code retriable}: still failing after the producer's
     * {@code delivery.timeout.ms}; {@code terminal}: refused for good, e.g. too large or not authorised),
     * {@code error} (exception simple name): sends that failed for good.
     */
    public static final String SEND_ERRORS = "netfence.send.errors";
    /** Counter, tag {@code error} (exception simple name): exactly-once transactions aborted. */
    public static final String TRANSACTIONS_ABORTED = "netfence.transactions.aborted";
    /** Timer: time to apply and verify the rules of one event. */
    public static final String APPLY_DURATION = "netfence.apply.duration";
    /** Timer: from the event's {@code occurredAt} to its outcome being acknowledged. */
    public static final String EVENT_LATENCY = "netfence.event.latency";
    /** Gauge: events being enforced right now. */
    public static final String INFLIGHT = "netfence.inflight";
    /** Gauge: partitions paused by back-pressure. */
    public static final String PARTITIONS_PAUSED = "netfence.partitions.paused";

    /** The timers that publish a percentile histogram. */
    public static final Set<String> HISTOGRAM_TIMERS = Set.of(APPLY_DURATION, EVENT_LATENCY);

    private final PrometheusMeterRegistry registry;
    private final JvmGcMetrics gcMetrics;

    private NetfenceMetrics(PrometheusMeterRegistry registry, JvmGcMetrics gcMetrics) {
        this.registry = registry;
        this.gcMetrics = gcMetrics;
    }

    /** A registry with the latency histograms configured and the JVM/process binders bound. */
    public static NetfenceMetrics create() {
        PrometheusMeterRegistry registry = newRegistry();
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        new FileDescriptorMetrics().bindTo(registry);
        JvmGcMetrics gc = new JvmGcMetrics();
        gc.bindTo(registry);
        return new NetfenceMetrics(registry, gc);
    }

    /**
     * A bare registry (no JVM binders) whose {@link #HISTOGRAM_TIMERS} publish percentile
     * histograms with buckets from 1 ms to 2 minutes. The filter must be in place before the
     * timers are registered, which is why the registry is only handed out from here.
     */
    public static PrometheusMeterRegistry newRegistry() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        registry.config().meterFilter(latencyHistograms());
        return registry;
    }

    static MeterFilter latencyHistograms() {
        return new MeterFilter() {
            @Override
            public DistributionStatisticConfig configure(Meter.Id id, DistributionStatisticConfig config) {
                if (id.getType() != Meter.Type.TIMER || !HISTOGRAM_TIMERS.contains(id.getName())) {
                    return config;
                }
                return DistributionStatisticConfig.builder()
                        .percentilesHistogram(true)
                        .minimumExpectedValue((double) Duration.ofMillis(1).toNanos())
                        .maximumExpectedValue((double) Duration.ofMinutes(2).toNanos())
                        .build()
                        .merge(config);
            }
        };
    }

    /** The registry the pipeline registers its meters on. */
    public PrometheusMeterRegistry registry() {
        return registry;
    }

    @Override
    public void close() {
        gcMetrics.close();
        registry.close();
    }
}
