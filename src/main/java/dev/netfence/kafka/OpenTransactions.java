package dev.netfence.kafka;

import dev.netfence.core.MeterNames;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;

/**
 * What a {@code read_committed} consumer cannot see: a transaction left open on an events
 * partition (a scheduler's producer that began one and hung, or crashed without aborting) holds
 * its last stable offset back, and netfence reads nothing past it, the records of every other
 * producer of that partition included, until the transaction ends (at the latest when the broker
 * aborts it after its producer's {@code transaction.timeout.ms}, up to 15 minutes by default).
 * The consumer's own lag is measured against that offset, so it reads 0 and nothing else shows
 * the partition stuck. The same holds for the policies topic, which the policy store reads under
 * {@code read_committed} too: a transaction left open there hides every later policy change, so
 * running containers keep their old policies and new ones wait for theirs. So every
 * {@link #PERIOD} (on a thread of its own, with the broker probe's admin client) this asks the
 * broker for the end offsets both ways of the assigned events partitions and of the policies
 * partitions the store reads ({@code PolicyStore.readCommittedPartitions}), exports the difference
 * per partition as {@code netfence.partition.unstable.records} (records written past the last
 * stable offset), and {@link #stalled} names a partition whose last stable offset has stayed put
 * behind its end for longer than a bound. A failed look leaves what the last one found (an unexpected
 * {@link Error} is logged once); after {@link #close} a look still under way registers nothing.
 */
final class OpenTransactions implements AutoCloseable {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(OpenTransactions.class);
    /** How often the broker is asked. */
    static final Duration PERIOD = Duration.ofSeconds(10);

    private final MeterRegistry registry;
    private final Clock clock;
    private final java.util.function.Supplier<List<TopicPartition>> policies;
    private volatile List<TopicPartition> assigned = List.of();
    /** The policies partitions of the last look. */
    private volatile List<TopicPartition> policyParts = List.of();
    /** Per partition behind: its last stable offset, since when it has been that while behind, and the gauge. */
    private final Map<TopicPartition, Behind> behind = new ConcurrentHashMap<>();
    private final Map<TopicPartition, Unstable> gauges = new HashMap<>();
    /** Set by {@link #close}, under the lock of {@link #gauges}: a look still running then registers nothing. */
    private boolean closed;
    /** Whether a look's unexpected {@link Error} was logged (once: the looks go on). */
    private volatile boolean errorLogged;
    private final java.util.concurrent.ScheduledExecutorService timer =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "netfence-open-transactions");
                t.setDaemon(true);
                return t;
            });

    private record Behind(long stable, long end, long since) { }

    private record Unstable(AtomicLong value, Gauge gauge) { }

    /** Watching the assigned events partitions only. */
    OpenTransactions(MeterRegistry registry, Clock clock) {
        this(registry, clock, List::of);
    }

    /** Also watching the policies partitions {@code policies} names at each look. */
    OpenTransactions(MeterRegistry registry, Clock clock, java.util.function.Supplier<List<TopicPartition>> policies) {
        this.registry = registry;
        this.clock = clock;
        this.policies = java.util.Objects.requireNonNull(policies, "policies");
    }

    /** Looks every {@link #PERIOD} with the admin client {@code admin} gives (made on first use); a failed look is skipped. */
    void start(java.util.function.Supplier<Admin> admin) {
        timer.scheduleWithFixedDelay(() -> {
            try {
                check(admin.get());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Exception e) { // the broker away, a partition moved meanwhile: the next look tries again
                LOG.debug("open-transaction look failed, the next one tries again: {}", e.toString());
            } catch (VirtualMachineError e) {
                throw e;
            } catch (Error e) { // a bug, not the broker: say so once, and keep looking
                if (!errorLogged) {
                    errorLogged = true;
                    LOG.error("open-transaction look failed unexpectedly; netfence.partition.unstable.records and the"
                            + " open-transaction readiness check keep what the last look found", e);
                }
            }
        }, PERIOD.toMillis(), PERIOD.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Poll thread: the events partitions this instance holds now. */
    void assigned(Collection<PartitionOffsets> partitions) {
        List<TopicPartition> now = partitions.stream().map(PartitionOffsets::partition).toList();
        if (!now.equals(assigned)) {
            assigned = now;
        }
    }

    /** Asks {@code admin} for the watched partitions' last stable and end offsets (at most 5 s each way). */
    void check(Admin admin) throws Exception {
        List<TopicPartition> policyNow = List.copyOf(policies.get());
        List<TopicPartition> tps = new java.util.ArrayList<>(assigned);
        policyNow.stream().filter(tp -> !tps.contains(tp)).forEach(tps::add);
        policyParts = policyNow;
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        tps.forEach(tp -> latest.put(tp, OffsetSpec.latest()));
        Map<TopicPartition, ListOffsetsResultInfo> ends = latest.isEmpty() ? Map.of() : admin.listOffsets(latest,
                new ListOffsetsOptions(IsolationLevel.READ_UNCOMMITTED)).all().get(5, TimeUnit.SECONDS);
        Map<TopicPartition, ListOffsetsResultInfo> stable = latest.isEmpty() ? Map.of() : admin.listOffsets(latest,
                new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).all().get(5, TimeUnit.SECONDS);
        long now = clock.millis();
        synchronized (gauges) {
            if (closed) {
                return; // close() removed the gauges: a look that was under way registers none again
            }
            for (TopicPartition tp : tps) {
                ListOffsetsResultInfo e = ends.get(tp);
                ListOffsetsResultInfo c = stable.get(tp);
                if (e == null || c == null) {
                    continue;
                }
                long end = e.offset();
                long lso = c.offset();
                gauge(tp).set(Math.max(0, end - lso));
                if (lso < end) {
                    Behind before = behind.get(tp);
                    behind.put(tp, new Behind(lso, end, before != null && before.stable() == lso ? before.since() : now));
                } else {
                    behind.remove(tp);
                }
            }
            for (TopicPartition tp : List.copyOf(gauges.keySet())) {
                if (!tps.contains(tp)) {
                    registry.remove(gauges.remove(tp).gauge());
                    behind.remove(tp);
                }
            }
        }
    }

    private AtomicLong gauge(TopicPartition tp) {
        Unstable u = gauges.get(tp);
        if (u == null) {
            AtomicLong v = new AtomicLong();
            Gauge g = Gauge.builder(MeterNames.PARTITION_UNSTABLE_RECORDS, v, AtomicLong::get)
                    .description("records of an assigned events partition, or of a policies partition, written past its"
                            + " last stable offset (an open transaction's, and every record behind it, which read_committed"
                            + " does not read yet)")
                    .tag("topic", tp.topic()).tag("partition", Integer.toString(tp.partition()))
                    .register(registry);
            u = new Unstable(v, g);
            gauges.put(tp, u);
        }
        return u.value();
    }

    /**
     * Why readiness is down: a watched partition's last stable offset has stayed behind its end for
     * longer than {@code bound} (an events partition's named first).
     */
    Optional<String> stalled(Duration bound) {
        long now = clock.millis();
        List<TopicPartition> events = assigned;
        List<TopicPartition> policy = policyParts;
        Optional<String> reason = Optional.empty();
        for (Map.Entry<TopicPartition, Behind> e : behind.entrySet()) {
            Behind b = e.getValue();
            long age = now - b.since();
            boolean ofEvents = events.contains(e.getKey());
            if (age <= bound.toMillis() || !ofEvents && !policy.contains(e.getKey())) {
                continue;
            }
            String why = (ofEvents ? "partition " : "policies partition ") + e.getKey() + " has had an open transaction"
                    + " at offset " + b.stable() + " for " + age / 1000 + " s, more than the stall timeout of "
                    + bound.toSeconds() + " s: " + (b.end() - b.stable()) + " record(s) behind it"
                    + (ofEvents ? "" : " (policy changes: running containers keep the policies read before)")
                    + " are not read until its producer commits or aborts it, or the broker aborts it at its"
                    + " transaction.timeout.ms";
            if (ofEvents) {
                return Optional.of(why);
            }
            reason = reason.or(() -> Optional.of(why));
        }
        return reason;
    }

    @Override
    public void close() {
        timer.shutdownNow();
        synchronized (gauges) {
            closed = true;
            gauges.values().forEach(u -> registry.remove(u.gauge()));
            gauges.clear();
            behind.clear();
        }
    }
}
