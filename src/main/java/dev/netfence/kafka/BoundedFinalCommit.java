package dev.netfence.kafka;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.Producer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bounds a stop's final commit through an exactly-once sink to {@link ShutdownBudget#FINAL_COMMIT},
 * as documented for a stop. That commit is a transaction, each of whose calls waits up to the
 * producer's {@code max.block.ms} (60 s by default) while the broker is away, and a commit that
 * times out is tried five times: a stop during an outage overran any grace period and was killed.
 * When the bound passes, the producer is closed at once (which fails its pending transaction
 * calls and sends) and the committing thread is interrupted (which ends a wait the close does not
 * reach, as {@code sendOffsetsToTransaction}'s on a request in flight: kafka-clients' waits throw
 * {@code InterruptException}); the interrupt is cleared before this returns. The commit then fails
 * with {@link FatalClientException}: the records after the last commit are done again by the
 * partition's next owner, and the transaction left open is aborted by the next producer of the
 * transactional id, or by the broker after {@code transaction.timeout.ms}. Other commits are not
 * bounded here: a periodic one waits out an outage (a transaction's commit must be retried), and
 * one of partitions being revoked gives up only with the clients (bounding it would recreate every
 * client on a slow broker, and the rebalance with them).
 */
final class BoundedFinalCommit implements OutputSink {
    private static final Logger LOG = LoggerFactory.getLogger(BoundedFinalCommit.class);

    private final OutputSink sink;
    private final Producer<byte[], byte[]> producer;
    private final Duration bound;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "netfence-commit-bound");
        t.setDaemon(true);
        return t;
    });

    /** {@code sink}'s final commit, through {@code producer}, bounded by {@code bound}. */
    BoundedFinalCommit(OutputSink sink, Producer<byte[], byte[]> producer, Duration bound) {
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
        sink.commit(partitions, sync);
    }

    @Override
    public void commitFinal(Collection<PartitionOffsets> partitions) {
        Deadline deadline = new Deadline(Thread.currentThread());
        ScheduledFuture<?> due = timer.schedule(deadline::pass, bound.toNanos(), TimeUnit.NANOSECONDS);
        try {
            sink.commitFinal(partitions);
        } catch (RuntimeException e) {
            if (deadline.end()) {
                throw passed(e);
            }
            throw e;
        } finally {
            due.cancel(false);
        }
        if (deadline.end()) { // committed just as the bound passed: the producer is closed all the same
            throw passed(null);
        }
    }

    private FatalClientException passed(Throwable cause) {
        return new FatalClientException("the final commit did not finish within " + bound + " (is the broker"
                + " reachable?); the producer was closed, and the records after the last commit are done again", cause);
    }

    /** One final commit's deadline: passes at most once, and only while the commit runs. */
    private final class Deadline {
        private final Thread committing;
        private boolean running = true;
        private boolean passed;

        Deadline(Thread committing) {
            this.committing = committing;
        }

        /** Timer: the bound passed; closes the producer and interrupts the commit, unless it returned. */
        synchronized void pass() {
            if (!running) {
                return;
            }
            passed = true;
            LOG.warn("the final commit did not finish within {}: closing the producer", bound);
            producer.close(Duration.ZERO);
            committing.interrupt();
        }

        /** The commit returned (no interrupt comes after this): whether the bound passed, its interrupt cleared. */
        synchronized boolean end() {
            if (running) {
                running = false;
                if (passed) {
                    Thread.interrupted();
                }
            }
            return passed;
        }
    }

    @Override
    public int pending() {
        return sink.pending();
    }

    @Override
    public void closing() {
        sink.closing();
    }

    @Override
    public void close() {
        timer.shutdownNow();
        sink.close();
    }
}
