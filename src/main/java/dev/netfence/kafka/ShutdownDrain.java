package dev.netfence.kafka;

import java.time.Duration;
import org.apache.kafka.clients.consumer.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one drain of a stop, run by the poll thread after it stopped polling for new records (the
 * rebalance listener is already inert, so {@code consumer.close()} does not drain again): the
 * records already taken keep being worked on (queued ones start, parked ones get their policy or
 * their wait ends) until all are done and acknowledged or the shutdown timeout passes. Then
 * nothing new starts, and the enforcements still running get {@link ShutdownBudget#STRAGGLERS} to
 * finish and be acknowledged (their live-set journal writes included), so an enforcement that
 * completes keeps its outcome. One synchronous commit follows. What is unfinished then (and,
 * at-least-once, what finished after it in its partition) is redelivered to the next owner;
 * applying again is idempotent.
 */
final class ShutdownDrain {
    private static final Logger LOG = LoggerFactory.getLogger(ShutdownDrain.class);

    private final Duration timeout;
    private final PartitionBook partitions;
    private final Completions completions;
    private final KeyedExecutor workers;
    private final Runnable beat;

    /** {@code beat} tells the loop's liveness that the drain is waiting on purpose. */
    ShutdownDrain(Duration timeout, PartitionBook partitions, Completions completions, KeyedExecutor workers,
                  Runnable beat) {
        this.timeout = timeout;
        this.partitions = partitions;
        this.completions = completions;
        this.workers = workers;
        this.beat = beat;
    }

    /** Drains, bounded by the shutdown timeout plus the stragglers' time, then commits once. */
    void run(Consumer<byte[], byte[]> consumer, OutputSink sink) {
        long deadline = System.nanoTime() + timeout.toNanos();
        consumer.pause(consumer.assignment());
        while ((PartitionBook.working(partitions.all()) > 0 || busy(sink)) && System.nanoTime() - deadline < 0) {
            round(consumer);
        }
        workers.stopStarting();
        long stragglers = System.nanoTime() + ShutdownBudget.STRAGGLERS.toNanos();
        while ((busy(sink) || PartitionBook.awaited(partitions.all()) > 0) && System.nanoTime() - stragglers < 0) {
            round(consumer);
        }
        completions.runAll();
        int left = PartitionBook.working(partitions.all());
        if (left > 0) {
            LOG.warn("shutdown timeout passed with {} record(s) unfinished ({} enforcement(s) still running, {} output(s) "
                    + "unacknowledged); they will be redelivered", left, workers.running(), sink.pending());
        }
        try {
            sink.commitFinal(partitions.all());
        } catch (RuntimeException e) {
            LOG.warn("final offset commit failed; uncommitted records will be redelivered: {}", e.toString());
        }
    }

    /** One round: poll (paused, so no records: it serves the producer's acks and the group) and hand over completions. */
    private void round(Consumer<byte[], byte[]> consumer) {
        beat.run();
        consumer.poll(Duration.ofMillis(20));
        completions.runAll();
    }

    /** Enforcements running, or outputs sent and not yet acknowledged. */
    private boolean busy(OutputSink sink) {
        return workers.running() > 0 || sink.pending() > 0 || completions.pending();
    }
}
