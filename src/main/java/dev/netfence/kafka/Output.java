package dev.netfence.kafka;

import dev.netfence.event.Outcome;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * One record the pipeline must get acknowledged before the event behind it counts as done:
 * an outcome (with its {@link Outcome}, for metrics) or a dead letter (with its error code).
 */
record Output(ProducerRecord<byte[], byte[]> record, Outcome outcome, String deadLetterCode) {
    static Output outcome(ProducerRecord<byte[], byte[]> record, Outcome outcome) {
        return new Output(record, outcome, null);
    }

    static Output deadLetter(ProducerRecord<byte[], byte[]> record, String code) {
        return new Output(record, null, code);
    }

    Output withRecord(ProducerRecord<byte[], byte[]> replacement) {
        return new Output(replacement, outcome, deadLetterCode);
    }

    void acked(PipelineMetrics metrics) {
        if (outcome != null) {
            metrics.outcomeAcked(outcome);
        } else {
            metrics.deadLetterAcked(deadLetterCode);
        }
    }
}
