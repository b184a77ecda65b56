package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.InvalidTimestampException;
import org.apache.kafka.common.errors.NotLeaderOrFollowerException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SendErrorsTest {
    static Stream<Arguments> errors() {
        return Stream.of(
                Arguments.of(new InvalidTimestampException("Timestamp 1796581325279 of message with offset 0 is out of"
                        + " range. The timestamp should be within [1796581325410, 1796584925410]"), SendErrors.Kind.RETRIABLE, true),
                Arguments.of(new InvalidRecordException("Timestamp 1796581314261 of message with offset 0 is out of range."
                        + " The timestamp should be within [1796581314264, 1796584914264]"), SendErrors.Kind.RETRIABLE, true),
                Arguments.of(new InvalidRecordException("One or more records have been rejected due to invalid timestamp"),
                        SendErrors.Kind.RETRIABLE, true),
                Arguments.of(new KafkaException("commit failed", new InvalidTimestampException("out of range")),
                        SendErrors.Kind.RETRIABLE, true),
                Arguments.of(new InvalidRecordException("Compacted topic cannot accept message without key in topic partition"
                        + " outcomes-0."), SendErrors.Kind.TERMINAL, false),
                Arguments.of(new InvalidRecordException("Timestamps are out of range"), SendErrors.Kind.TERMINAL, false),
                Arguments.of(new TopicAuthorizationException("outcomes"), SendErrors.Kind.TERMINAL, false),
                Arguments.of(new RecordTooLargeException("too large"), SendErrors.Kind.TOO_LARGE, false),
                Arguments.of(new NotLeaderOrFollowerException("moved"), SendErrors.Kind.RETRIABLE, false),
                Arguments.of(new KafkaException("aborted", new ProducerFencedException("fenced")), SendErrors.Kind.FATAL, false),
                Arguments.of(new KafkaException("Producer is closed forcefully."), SendErrors.Kind.FATAL, false),
                Arguments.of(new KafkaException("The producer closed forcefully"), SendErrors.Kind.FATAL, false),
                Arguments.of(new KafkaException("Producer is closed"), SendErrors.Kind.TERMINAL, false),
                Arguments.of(new org.apache.kafka.common.errors.TransactionAbortableException("abortable", null),
                        SendErrors.Kind.RETRIABLE, false));
    }

    @ParameterizedTest
    @MethodSource("errors")
    void aRecordRefusedForItsTimestampIsTheNodesClockNotTheRecordsAndIsNeverReplaced(Throwable error,
            SendErrors.Kind kind, boolean clock) {
        assertThat(SendErrors.classify(error)).isEqualTo(kind);
        assertThat(SendErrors.clockRefused(error)).isEqualTo(clock);
        assertThat(SendErrors.refusesRecord(error)).isEqualTo(kind == SendErrors.Kind.TERMINAL || kind == SendErrors.Kind.TOO_LARGE);
        if (clock) {
            assertThat(SendErrors.hint(error)).contains("this node's clock").contains("message.timestamp.after.max.ms");
        } else {
            assertThat(SendErrors.hint(error)).isEmpty();
        }
    }
}
