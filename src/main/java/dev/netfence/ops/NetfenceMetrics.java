package dev.netfence.ops;

import dev.netfence.core.MeterNames;
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
 * meters on {@link #registry()} under the names in {@link MeterNames}; {@link MetricsServer} exposes them.
 * Closing releases the GC notification listener and the registry.
 */
public final class NetfenceMetrics implements AutoCloseable {

    /** The timers that publish a percentile histogram. */
    public static final Set<String> HISTOGRAM_TIMERS = Set.of(MeterNames.APPLY_DURATION, MeterNames.EVENT_LATENCY);

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
