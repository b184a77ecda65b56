package dev.netfence.kafka;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Exactly-once output ({@code --exactly-once}): a finished record's outputs are held until every
 * earlier record of its partition is finished too; then one transaction sends the held outputs
 * of that done prefix, in offset order, together with the offsets after it
 * ({@code sendOffsetsToTransaction} with the consumer's group metadata). So a committed outcome
 * implies its offset is committed, and vice versa. An abortable failure aborts and keeps the held
 * outputs for the next attempt; a fatal one (fenced, out of sequence, not authorised) is raised as
 * {@link FatalClientException} so the pipeline recreates its clients and resumes from the last
 * committed offsets, never continuing with a broken producer.
 */
final class TransactionalSink implements OutputSink {
    private static final Logger LOG = LoggerFactory.getLogger(TransactionalSink.class);

    private final Producer<byte[], byte[]> producer;
    private final Consumer<byte[], byte[]> consumer;
    private final PipelineMetrics metrics;

    /** {@code producer} must have a transactional.id; its transactions are initialised here. */
    TransactionalSink(Producer<byte[], byte[]> producer, Consumer<byte[], byte[]> consumer, PipelineMetrics metrics) {
        this.producer = producer;
        this.consumer = consumer;
        this.metrics = metrics;
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
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        Map<TopicPartition, PartitionOffsets> owners = new HashMap<>();
        List<Output> outputs = new ArrayList<>();
        for (PartitionOffsets p : partitions) {
            long at = p.committable(outputs);
            if (at >= 0) {
                offsets.put(p.partition(), new OffsetAndMetadata(at));
                owners.put(p.partition(), p);
            }
        }
        if (offsets.isEmpty()) {
            return;
        }
        try {
            producer.beginTransaction();
            for (Output o : outputs) {
                producer.send(o.record());
            }
            producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
            producer.commitTransaction();
        } catch (KafkaException e) {
            RuntimeException fatal = fatalOrSelf(e);
            if (fatal instanceof FatalClientException) {
                throw fatal;
            }
            LOG.warn("transaction aborted, will retry with the same outputs: {}", e.toString());
            try {
                producer.abortTransaction();
            } catch (KafkaException abortFailed) {
                throw new FatalClientException("cannot abort the transaction", abortFailed);
            }
            return;
        }
        offsets.forEach((tp, om) -> owners.get(tp).committed(om.offset()));
        outputs.forEach(o -> o.acked(metrics));
    }

    private static RuntimeException fatalOrSelf(KafkaException e) {
        Throwable t = e;
        while (t != null) {
            if (t instanceof ProducerFencedException || t instanceof OutOfOrderSequenceException
                    || t instanceof AuthorizationException || t instanceof UnsupportedVersionException
                    || t instanceof InvalidProducerEpochException
                    || t instanceof org.apache.kafka.common.errors.FencedInstanceIdException) {
                return new FatalClientException("transactional producer is unusable: " + t, e);
            }
            t = t.getCause();
        }
        return e;
    }

    @Override
    public void close() {
        // the producer belongs to the pipeline, which closes it
    }
}
