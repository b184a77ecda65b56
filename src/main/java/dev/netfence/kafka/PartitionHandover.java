package dev.netfence.kafka;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What happens when partitions come and go: assigned ones get fresh bookkeeping; revoked ones
 * (a rebalance, or node-partition re-assignment) have their running work finished, bounded by the
 * shutdown timeout, and committed before they are let go; lost ones are dropped. As the consumer's
 * {@link ConsumerRebalanceListener} it runs on the poll thread inside {@code poll()} and also
 * inside {@code consumer.close()}: once {@link #inert()} (the shutdown drain began, or the clients
 * are being discarded) it does nothing, so a stop drains exactly once and never hands outputs
 * to a closing sink. Each callback first {@link PollWaker#disarm disarms} the poll's waker, and
 * the commit on revoke is retried once on a wake-up sent before that, so a worker finishing during
 * a rebalance never aborts the handover's commit.
 */
final class PartitionHandover implements ConsumerRebalanceListener {
    private static final Logger LOG = LoggerFactory.getLogger(PartitionHandover.class);

    private final PartitionBook partitions;
    private final Completions completions;
    private final Supplier<OutputSink> sink;
    private final Duration bound;
    private final Runnable beat;
    private final PollWaker waker;
    private final Runnable onAssigned;
    private volatile boolean inert;

    /**
     * {@code beat} tells the loop's liveness that a bounded wait here is on purpose; {@code onAssigned}
     * runs after partitions were assigned (it must not block: the reconciler's take-over read).
     */
    PartitionHandover(PartitionBook partitions, Completions completions, Supplier<OutputSink> sink, Duration bound,
                      Runnable beat, PollWaker waker, Runnable onAssigned) {
        this.onAssigned = onAssigned;
        this.partitions = partitions;
        this.completions = completions;
        this.sink = sink;
        this.bound = bound;
        this.beat = beat;
        this.waker = waker;
    }

    /** From now on the listener callbacks do nothing. */
    void inert(boolean on) {
        inert = on;
    }

    boolean inert() {
        return inert;
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> tps) {
        waker.disarm();
        if (!inert) {
            assigned(tps);
        }
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> tps) {
        waker.disarm();
        if (!inert) {
            revoked(tps);
        }
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> tps) {
        waker.disarm();
        if (!inert) {
            partitions.remove(tps);
            LOG.warn("lost {}; their unfinished work is dropped", tps);
        }
    }

    void assigned(Collection<TopicPartition> tps) {
        partitions.add(tps);
        LOG.info("assigned {}", tps);
        if (!tps.isEmpty()) {
            onAssigned.run();
        }
    }

    /** Finishes (bounded) and commits the work of partitions leaving us, then forgets them. */
    void revoked(Collection<TopicPartition> tps) {
        List<PartitionOffsets> leaving = partitions.of(tps);
        long deadline = System.nanoTime() + bound.toNanos();
        while (PartitionBook.working(leaving) > 0 && System.nanoTime() - deadline < 0) {
            beat.run();
            completions.runAll();
            sleep(5);
        }
        completions.runAll();
        try {
            PollWaker.retryOnce(() -> sink.get().commit(leaving, true));
        } catch (OutputSink.FatalClientException e) {
            throw e;
        } catch (RuntimeException e) {
            LOG.warn("commit on revoke failed; the new owner will redo those records: {}", e.toString());
        }
        partitions.remove(tps);
        LOG.info("revoked {}", tps);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
