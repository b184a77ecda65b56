package dev.netfence.kafka;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.producer.Producer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bounds the synchronous commits of an exactly-once sink (a stop's final commit, a revoke's) to
 * {@link ShutdownBudget#FINAL_COMMIT}, as documented for a stop. Such a commit is a transaction,
 * each of whose calls waits up to the producer's {@code max.block.ms} (60 s by default) while the
 * broker is away, and a commit that times out is tried five times: a stop during an outage
 * overran any grace period (and was killed), a revoke held up the rebalance for minutes. When the
 * bound passes, the producer is closed at once, which returns every call blocked in it (kafka-clients:
 * "The producer closed forcefully"), and the commit fails with {@link FatalClientException}: these
 * clients are done, the records after the last commit are done again by the next ones (or the
 * partition's next owner), and the transaction left open is aborted by the next producer of the
 * transactional id, or by the broker after {@code transaction.timeout.ms}. Periodic commits are
 * not bounded here: they wait out an outage, as a transaction's commit must be retried.
 */
final class BoundedSyncCommits implements OutputSink {
    private static final Logger LOG = LoggerFactory.getLogger(BoundedSyncCommits.class);

    private final OutputSink sink;
    private final Producer<byte[], byte[]> producer;
    private final Duration bound;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "netfence-commit-bound");
        t.setDaemon(true);
        return t;
    });

    /** {@code sink}'s synchronous commits, through {@code producer}, bounded by {@code bound}. */
    BoundedSyncCommits(OutputSink sink, Producer<byte[], byte[]> producer, Duration bound) {
        this.sink = Objects.requireNonNull(sink, "sink");
        this.producer = Objects.requireNonNull(producer, "producer");
        this.bound = Objects.requireNonNull(bound, "bound");
    }

    @Override
    public void emit(PartitionOffsets partition, long offset, List<Output> outputs) {
        sink.emit(partition, offset, outputs);
    }

    @Override
    public void commit(Collection<PartitionOffsets> partitions, boolean sync) {
        if (!sync) {
            sink.commit(partitions, false);
            return;
        }
        AtomicBoolean closed = new AtomicBoolean();
        ScheduledFuture<?> deadline = timer.schedule(() -> {
            closed.set(true);
            LOG.warn("the synchronous commit did not finish within {}: closing the producer", bound);
            producer.close(Duration.ZERO);
        }, bound.toNanos(), TimeUnit.NANOSECONDS);
        try {
            sink.commit(partitions, true);
        } catch (RuntimeException e) {
            throw closed.get() ? passed(e) : e;
        } finally {
            deadline.cancel(false);
        }
        if (closed.get()) { // committed just as the bound passed: the producer is closed all the same
            throw passed(null);
        }
    }

    private FatalClientException passed(Throwable cause) {
        return new FatalClientException("the synchronous commit did not finish within " + bound + " (is the broker"
                + " reachable?); the producer was closed, and the records after the last commit are done again", cause);
    }

    @Override
    public int pending() {
        return sink.pending();
    }

    @Override
    public void close() {
        timer.shutdownNow();
        sink.close();
    }
}
