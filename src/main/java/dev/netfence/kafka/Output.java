package dev.netfence.kafka;

import dev.netfence.event.Outcome;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * One record the pipeline must get acknowledged before the event behind it counts as done:
 * an outcome (with its {@link Outcome}, for metrics, and the event record behind it) or a dead
 * letter (with its error code).
 */
record Output(ProducerRecord<byte[], byte[]> record, Outcome outcome, String deadLetterCode,
              ConsumerRecord<byte[], byte[]> source) {
    /** An outcome; {@code source} is its event's record, dead-lettered should the outcomes topic refuse it. */
    static Output outcome(ProducerRecord<byte[], byte[]> record, Outcome outcome, ConsumerRecord<byte[], byte[]> source) {
        return new Output(record, outcome, null, source);
    }

    static Output deadLetter(ProducerRecord<byte[], byte[]> record, String code) {
        return new Output(record, null, code, null);
    }

    Output withRecord(ProducerRecord<byte[], byte[]> replacement) {
        return new Output(replacement, outcome, deadLetterCode, source);
    }

    String topic() {
        return record.topic();
    }

    void acked(PipelineMetrics metrics) {
        if (outcome != null) {
            metrics.outcomeAcked(outcome);
        } else {
            metrics.deadLetterAcked(deadLetterCode);
        }
    }
}
