package dev.netfence.kafka;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.IllegalGenerationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.UnknownMemberIdException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Exactly-once output ({@code --exactly-once}): a finished record's outputs are held until every
 * earlier record of its partition is finished too; then one transaction sends the held outputs
 * of that done prefix, in offset order, together with the offsets after it
 * ({@code sendOffsetsToTransaction} with the consumer's group metadata). So a committed outcome
 * implies its offset is committed, and vice versa.
 *
 * <p>An aborted transaction is never simply retried with the same content. Its send callbacks only
 * hint at the culprit: once a transaction is in error, the producer fails every batch not yet sent
 * with the same exception. So the first output in the transaction that a callback says was refused
 * ({@link SendErrors#refusesRecord}) becomes a suspect: the records before it are committed without
 * it, and then its record is tried alone. Refused alone, it is the culprit, reported (metric, log,
 * {@link SendHealth}) and replaced the way at-least-once mode does it ({@link OutputRecords#replacement}:
 * a dead letter without its value, an outcome by its event's dead letter); with nothing smaller left
 * it is held: retried alone with a growing back-off while its partition waits behind it and
 * readiness is down. An abort no callback explains halves the number of outputs per transaction from
 * the second one in a row (down to one), so such a cause is bisected too. A {@code commitTransaction}
 * that times out is retried, as Kafka requires (aborting then is illegal). A fatal error (fenced, out
 * of sequence, not authorised) is raised as {@link FatalClientException} so the pipeline recreates its
 * clients and resumes from the last committed offsets, never continuing with a broken producer.
 */
final class TransactionalSink implements OutputSink {
    private static final Logger LOG = LoggerFactory.getLogger(TransactionalSink.class);
    private static final int COMMIT_ATTEMPTS = 5;
    private static final long MAX_BACKOFF_NANOS = 30_000_000_000L;

    private final Producer<byte[], byte[]> producer;
    private final Consumer<byte[], byte[]> consumer;
    private final PipelineMetrics metrics;
    private final OutputRecords records;
    private final SendHealth health;
    private final Runnable beat;
    private final ProducerWatchdog watchdog;
    /** Partitions with a suspect output: the records before it commit without it, then it goes alone. */
    private final Map<TopicPartition, Suspect> suspects = new HashMap<>();
    /** Outputs per transaction; halved by unexplained aborts in a row, reset by a commit. */
    private int budget = Integer.MAX_VALUE;
    private int unexplainedAborts;
    private long retryAt = System.nanoTime();

    private static final class Suspect {
        /**
         * The partition's bookkeeping it was found in: a partition revoked and assigned again has
         * new bookkeeping and its records redone with new outputs, so a suspect of the old one is
         * stale (its output never again the head, it would let the refused redo into every batch).
         */
        final PartitionOffsets owner;
        Output output;
        /** Refused alone, with nothing smaller to send: held, counted in {@link SendHealth}. */
        boolean held;
        int attempts;
        long due = System.nanoTime();

        Suspect(PartitionOffsets owner, Output output) {
            this.owner = owner;
            this.output = output;
        }
    }

    /** One transaction's content: the outputs, in offset order per partition, and the offsets after them. */
    private static final class Batch {
        final Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        final Map<TopicPartition, PartitionOffsets> owners = new HashMap<>();
        final List<Output> outputs = new ArrayList<>();
        final Map<Output, PartitionOffsets> from = new IdentityHashMap<>();

        void add(PartitionOffsets p, int maxOutputs, Output stopAt) {
            int before = outputs.size();
            long at = p.committable(outputs, maxOutputs, stopAt);
            if (at >= 0) {
                offsets.put(p.partition(), new OffsetAndMetadata(at));
                owners.put(p.partition(), p);
                outputs.subList(before, outputs.size()).forEach(o -> from.put(o, p));
            } else {
                outputs.subList(before, outputs.size()).clear();
            }
        }
    }

    /** {@code producer} must have a transactional.id; its transactions are initialised here. */
    TransactionalSink(Producer<byte[], byte[]> producer, Consumer<byte[], byte[]> consumer, PipelineMetrics metrics,
                      OutputRecords records, SendHealth health) {
        this(producer, consumer, metrics, records, health, () -> { });
    }

    /**
     * @param beat the loop's liveness heartbeat, beaten before each call that can block (each up
     *     to the producer's {@code max.block.ms} while the broker is away): a transaction makes
     *     several, more than the loop's stall threshold together, and a broker outage made
     *     {@code /healthz} report the loop stalled, and a liveness probe restart netfence
     */
    TransactionalSink(Producer<byte[], byte[]> producer, Consumer<byte[], byte[]> consumer, PipelineMetrics metrics,
                      OutputRecords records, SendHealth health, Runnable beat) {
        this(producer, consumer, metrics, records, health, beat, new ProducerWatchdog(java.time.Clock.systemUTC(),
                List::of));
    }

    /**
     * Each send is reported to {@code watchdog}; a {@code commitTransaction} that times out asks it
     * whether the producer still answers before it is tried again (its I/O thread dead, it never will).
     */
    TransactionalSink(Producer<byte[], byte[]> producer, Consumer<byte[], byte[]> consumer, PipelineMetrics metrics,
                      OutputRecords records, SendHealth health, Runnable beat, ProducerWatchdog watchdog) {
        this.watchdog = watchdog;
        this.beat = beat;
        this.producer = producer;
        this.consumer = consumer;
        this.metrics = metrics;
        this.records = records;
        this.health = health;
        try {
            producer.initTransactions();
        } catch (KafkaException e) {
            throw fatalOrSelf(e);
        }
    }

    @Override
    public void emit(PartitionOffsets partition, long offset, List<Output> outputs) {
        partition.hold(offset, outputs);
    }

    @Override
    public void commit(Collection<PartitionOffsets> partitions, boolean sync) {
        if (!sync) { // before the back-off's early return: a stale hold must not keep /readyz false meanwhile
            forgetSuspectsOutside(partitions);
        }
        long now = System.nanoTime();
        if (!sync && now - retryAt < 0) {
            return;
        }
        Batch batch = new Batch();
        List<PartitionOffsets> alone = new ArrayList<>();
        for (PartitionOffsets p : partitions) {
            Suspect h = suspects.get(p.partition());
            if (h != null && h.owner != p) { // the partition was revoked and is assigned again
                suspects.remove(p.partition());
                if (h.held) {
                    health.released();
                }
                h = null;
            }
            if (h == null) {
                batch.add(p, Math.max(1, budget - batch.outputs.size()), null);
            } else if (p.isHead(h.output)) {
                if (now - h.due >= 0 || sync) {
                    alone.add(p);
                }
            } else {
                batch.add(p, Integer.MAX_VALUE, h.output);
            }
        }
        if (!batch.offsets.isEmpty()) {
            transact(batch, null);
        }
        for (PartitionOffsets p : alone) {
            Batch one = new Batch();
            one.add(p, 1, null);
            if (!one.offsets.isEmpty()) {
                transact(one, suspects.get(p.partition()));
            }
        }
    }

    /**
     * Drops the suspects of partitions no longer assigned, releasing a held one (else {@code /readyz}
     * would stay false for a partition another instance now owns). The pipeline's regular round
     * (the one unsynchronised commit) passes every partition it holds.
     */
    private void forgetSuspectsOutside(Collection<PartitionOffsets> partitions) {
        if (suspects.isEmpty()) {
            return;
        }
        Set<TopicPartition> assigned = new HashSet<>();
        partitions.forEach(p -> assigned.add(p.partition()));
        suspects.entrySet().removeIf(e -> {
            if (assigned.contains(e.getKey())) {
                return false;
            }
            if (e.getValue().held) {
                health.released();
            }
            return true;
        });
    }

    /** One transaction; {@code alone} is the suspect when the batch is its record alone. */
    private void transact(Batch batch, Suspect alone) {
        Map<Output, Exception> refused = new IdentityHashMap<>();
        try {
            producer.beginTransaction();
            for (Output o : batch.outputs) {
                beat.run();
                long token = watchdog.sending(o.topic());
                try {
                    producer.send(o.record(), (md, e) -> {
                        watchdog.answered(token);
                        if (e != null) {
                            synchronized (refused) {
                                refused.put(o, e);
                            }
                        }
                    });
                } catch (RuntimeException e) {
                    watchdog.dropped(token); // refused at once: it never reaches the producer
                    throw e;
                }
                watchdog.sent(token);
            }
            beat.run();
            producer.sendOffsetsToTransaction(batch.offsets, consumer.groupMetadata());
            commitTransaction();
        } catch (KafkaException e) {
            RuntimeException fatal = fatalOrSelf(e);
            if (fatal instanceof FatalClientException) {
                throw fatal;
            }
            abort(e);
            synchronized (refused) {
                if (alone != null) {
                    abortedAlone(batch, alone, refused, e);
                } else {
                    aborted(batch, refused, e);
                }
            }
            return;
        }
        batch.offsets.forEach((tp, om) -> batch.owners.get(tp).committed(om.offset()));
        for (Output o : batch.outputs) {
            o.acked(metrics);
            health.succeeded(o.topic());
        }
        if (alone != null) {
            suspects.remove(batch.owners.keySet().iterator().next());
            if (alone.held) {
                health.released();
                LOG.info("held output to {} committed after {} attempt(s)", alone.output.topic(), alone.attempts + 1);
            }
        }
        unexplainedAborts = 0;
        budget = Integer.MAX_VALUE;
    }

    /** Kafka: a timed-out commit must be retried; it may not be aborted. */
    private void commitTransaction() {
        for (int attempt = 1; ; attempt++) {
            try {
                beat.run();
                producer.commitTransaction();
                return;
            } catch (TimeoutException e) {
                watchdog.check(); // a producer whose I/O thread died never commits: made again now, not after 5 tries
                if (attempt >= COMMIT_ATTEMPTS) {
                    throw new FatalClientException("commitTransaction timed out " + attempt + " times; the next"
                            + " producer of this transactional.id completes or aborts the transaction", e);
                }
                LOG.warn("commitTransaction timed out (attempt {} of {}); retrying it", attempt, COMMIT_ATTEMPTS);
            }
        }
    }

    private void abort(KafkaException cause) {
        metrics.transactionAborted(SendErrors.rootOf(cause));
        try {
            beat.run();
            producer.abortTransaction();
        } catch (KafkaException abortFailed) {
            throw new FatalClientException("cannot abort the transaction", abortFailed);
        }
    }

    /** After an abort of a transaction of several records: suspect the first refused output, or bisect. */
    private void aborted(Batch batch, Map<Output, Exception> refused, KafkaException cause) {
        batch.outputs.forEach(o -> metrics.sendRetried(o.topic(), 1));
        for (Output o : batch.outputs) {
            Exception e = refused.get(o);
            if (e != null && SendErrors.clockRefused(e)) {
                health.refused(o.topic(), e); // the node's clock: retried, and /readyz says so once it lasts
            }
            if (e != null && SendErrors.refusesRecord(e)) {
                PartitionOffsets owner = batch.from.get(o);
                suspects.putIfAbsent(owner.partition(), new Suspect(owner, o));
                TopicPartition tp = owner.partition();
                LOG.warn("transaction aborted, {} refused an output ({}): committing the records of {} before it"
                        + " without it, then trying it alone", o.topic(), SendErrors.rootOf(e), tp);
                unexplainedAborts = 0;
                return;
            }
        }
        unexplainedAborts++;
        if (isGenerationFenced(cause)) {
            LOG.warn("the consumer group moved on to a new generation (KIP-447 fencing): these partitions belong to"
                    + " another member now and the next poll hands them over: {}", cause.toString());
        } else if (unexplainedAborts >= 2) {
            budget = Math.max(1, Math.min(budget, batch.outputs.size()) / 2);
        }
        long backoff = Math.min(MAX_BACKOFF_NANOS, 100_000_000L << Math.min(unexplainedAborts - 1, 8));
        retryAt = System.nanoTime() + backoff;
        LOG.warn("transaction aborted ({} in a row, no output refused), retrying in {} ms with at most {} outputs: {}",
                unexplainedAborts, backoff / 1_000_000, budget == Integer.MAX_VALUE ? "all" : budget,
                cause + SendErrors.hint(cause));
    }

    /**
     * After an abort of the suspect's record alone: a refused output of it is the culprit. A dead
     * letter with a value is shrunk first (it is the likely one when the record also has an outcome).
     */
    private void abortedAlone(Batch batch, Suspect s, Map<Output, Exception> refused, KafkaException cause) {
        batch.outputs.forEach(o -> metrics.sendRetried(o.topic(), 1));
        Output culprit = null;
        for (Output o : batch.outputs) {
            Exception e = refused.get(o);
            if (e != null && SendErrors.refusesRecord(e)
                    && (culprit == null || o.outcome() == null && o.record().value() != null)) {
                culprit = o;
            }
        }
        PartitionOffsets p = batch.owners.values().iterator().next();
        if (culprit == null) {
            s.attempts++;
            s.due = System.nanoTime() + Math.min(MAX_BACKOFF_NANOS, 100_000_000L << Math.min(s.attempts, 8));
            LOG.warn("transaction with the suspect record of {} alone aborted without a refused output: {}",
                    p.partition(), cause.toString());
            return;
        }
        Exception e = refused.get(culprit);
        metrics.sendFailed(culprit.topic(), "terminal", SendErrors.rootOf(e));
        health.refused(culprit.topic(), e);
        Optional<Output> replacement = records.replacement(culprit, e);
        if (replacement.isPresent()) {
            Output r = replacement.get();
            LOG.warn("{} refuses an output of {} ({}); sending a dead letter to {}{} instead", culprit.topic(),
                    p.partition(), SendErrors.rootOf(e), r.topic(), r.record().value() == null ? " without the value" : "");
            p.replace(culprit, r);
            if (culprit.outcome() != null) {
                metrics.outcomeDropped(culprit.outcome());
            }
            s.output = p.isHead(r) ? r : s.output;
            s.due = System.nanoTime();
            return;
        }
        if (!s.held) {
            s.held = true;
            health.hold(culprit.topic() + " refuses an output of " + p.partition() + ": " + SendErrors.rootOf(e));
        }
        s.attempts++;
        long backoff = Math.min(MAX_BACKOFF_NANOS, 1_000_000_000L << Math.min(s.attempts - 1, 5));
        s.due = System.nanoTime() + backoff;
        LOG.error("{} refuses an output of {} for good ({}) and nothing smaller is left to send: it is held, tried"
                + " again alone in {} s, and the records behind it wait (attempt {})", culprit.topic(), p.partition(),
                SendErrors.rootOf(e), backoff / 1_000_000_000L, s.attempts);
    }

    private static boolean isGenerationFenced(Throwable e) {
        for (Throwable t = e; t != null && t.getCause() != t; t = t.getCause()) {
            if (t instanceof CommitFailedException || t instanceof IllegalGenerationException
                    || t instanceof UnknownMemberIdException) {
                return true;
            }
        }
        return false;
    }

    private static RuntimeException fatalOrSelf(KafkaException e) {
        if (SendErrors.classify(e) == SendErrors.Kind.FATAL) {
            return new FatalClientException("transactional producer is unusable: " + SendErrors.rootOf(e), e);
        }
        return e;
    }

    @Override
    public void close() {
        if (suspects.values().stream().anyMatch(x -> x.held)) {
            health.releaseAll();
        }
        suspects.clear();
    }
}
