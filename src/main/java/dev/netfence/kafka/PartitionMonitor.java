package dev.netfence.kafka;

import dev.netfence.core.MeterNames;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.TimeGauge;
import java.time.Clock;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.TopicPartition;

/**
 * What the fetch-position lag of the Kafka client cannot show: a partition whose records are read
 * but never acknowledged (outcome sends failing, transactions aborting, a wedged worker) has a
 * fetch lag of 0 or 1 while nothing is committed. So this exports, per assigned partition,
 * {@code netfence.partition.committed.lag} (log end, as of the last fetch, minus the offset this
 * instance committed or is about to commit) and, for the instance,
 * {@code netfence.oldest.unacknowledged.age}: how long the oldest record taken but not yet
 * committed has waited. {@link #stalled} turns that age into a readiness verdict against a bound.
 * That age counts from when the record was first taken by any of this instance's clients: a
 * record read again after the clients were recreated (a send that fails every minute, say) keeps
 * its first time, so a crash loop shorter than the bound is still a stall. {@link #update} runs on
 * the poll thread; the gauges and {@link #stalled} read volatile state from any thread.
 */
final class PartitionMonitor implements AutoCloseable {
    private final MeterRegistry registry;
    private final Clock clock;
    private final Map<TopicPartition, Lag> lags = new HashMap<>();
    /** Clock millis when the oldest uncommitted record was taken; -1 when none is outstanding. */
    private volatile long oldestSince = -1;
    private volatile String oldestWhere = "";
    private final TimeGauge age;

    /**
     * Per partition, its oldest unacknowledged record's offset and when that record was first
     * taken; kept across client recreations (not by {@link #forget}), replaced when the offset moves,
     * dropped once a commit passes it.
     */
    private final Map<TopicPartition, Taken> firstTaken = new HashMap<>();

    private record Lag(AtomicLong value, Gauge gauge) { }

    private record Taken(long offset, long since) { }

    PartitionMonitor(MeterRegistry registry, Clock clock) {
        this.registry = registry;
        this.clock = clock;
        this.age = TimeGauge.builder(MeterNames.OLDEST_UNACKNOWLEDGED_AGE, this, TimeUnit.MILLISECONDS,
                        m -> m.oldestAgeMillis())
                .description("how long the oldest record read but not yet committed has waited (0 when none)")
                .register(registry);
    }

    /** Poll thread: recomputes the lag of each assigned partition and the oldest unacknowledged record. */
    void update(Consumer<?, ?> consumer, Collection<PartitionOffsets> partitions) {
        long since = -1;
        String where = "";
        for (PartitionOffsets po : partitions) {
            long t = firstTaken(po);
            if (t >= 0 && (since < 0 || t < since)) {
                since = t;
                where = po.partition() + " offset " + po.oldestUncommitted();
            }
            lag(po.partition()).set(committedLag(consumer, po));
        }
        oldestWhere = where;
        oldestSince = since;
    }

    /** When {@code po}'s oldest unacknowledged record was first taken (-1: none outstanding). */
    private long firstTaken(PartitionOffsets po) {
        long t = po.oldestUncommittedSince();
        if (t < 0) {
            // forgotten once committed past it; not while a book recreated with the clients is still empty
            Taken before = firstTaken.get(po.partition());
            if (before != null && po.lastCommitted() > before.offset()) {
                firstTaken.remove(po.partition());
            }
            return t;
        }
        Taken before = firstTaken.get(po.partition());
        if (before != null && before.offset() == po.oldestUncommitted()) {
            return Math.min(before.since(), t);
        }
        firstTaken.put(po.partition(), new Taken(po.oldestUncommitted(), t));
        return t;
    }

    private static long committedLag(Consumer<?, ?> consumer, PartitionOffsets po) {
        TopicPartition tp = po.partition();
        OptionalLong fetchLag;
        long position;
        try {
            fetchLag = consumer.currentLag(tp);
            position = consumer.position(tp, Duration.ZERO);
        } catch (RuntimeException notYetKnown) {
            return 0;
        }
        if (fetchLag.isEmpty()) {
            return 0;
        }
        long end = position + fetchLag.getAsLong();
        long base = po.oldestUncommitted() >= 0 ? po.oldestUncommitted()
                : po.lastCommitted() >= 0 ? po.lastCommitted() : position;
        return Math.max(0, end - base);
    }

    private AtomicLong lag(TopicPartition tp) {
        Lag l = lags.get(tp);
        if (l == null) {
            AtomicLong v = new AtomicLong();
            Gauge g = Gauge.builder(MeterNames.PARTITION_COMMITTED_LAG, v, AtomicLong::get)
                    .description("records of the partition not yet committed by this instance (end offset minus commit point)")
                    .tag("topic", tp.topic()).tag("partition", Integer.toString(tp.partition()))
                    .register(registry);
            l = new Lag(v, g);
            lags.put(tp, l);
        }
        return l.value();
    }

    /** Poll thread: the partition is no longer ours; its gauge goes away. */
    void forget(TopicPartition tp) {
        Lag l = lags.remove(tp);
        if (l != null) {
            registry.remove(l.gauge());
        }
    }

    /** Poll thread: every partition is gone (clients recreated, or stopped). */
    void forgetAll() {
        for (TopicPartition tp : Map.copyOf(lags).keySet()) {
            forget(tp);
        }
        oldestSince = -1;
    }

    long oldestAgeMillis() {
        long since = oldestSince;
        return since < 0 ? 0 : Math.max(0, clock.millis() - since);
    }

    /** Why readiness is down: the oldest unacknowledged record has waited longer than {@code bound}. */
    Optional<String> stalled(Duration bound) {
        long age = oldestAgeMillis();
        if (age <= bound.toMillis()) {
            return Optional.empty();
        }
        return Optional.of("the oldest unacknowledged record (" + oldestWhere + ") has waited " + age / 1000
                + " s, more than the stall timeout of " + bound.toSeconds() + " s");
    }

    @Override
    public void close() {
        forgetAll();
        registry.remove(age);
    }
}
