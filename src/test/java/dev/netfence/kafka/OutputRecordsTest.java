package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.ErrorCode;
import dev.netfence.event.OutcomeCodec;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.Test;

/**
 * A dead letter the DLQ topic refuses as too large shrinks step by step before it is held: without
 * the original's value, then with its provenance headers only (an original's own headers can be as
 * large as the events topic allows), so a malformed record cannot stall its partition for good.
 */
class OutputRecordsTest {
    private final OutputRecords records = new OutputRecords(new OutcomeCodec(), "sandbox.outcomes",
            "sandbox.container-events.dlq", "netfence-n1/1", "n1");

    @Test
    void aDeadLetterStillTooLargeWithoutItsValueGoesWithItsProvenanceHeadersOnlyThenIsHeld() {
        ConsumerRecord<byte[], byte[]> original = new ConsumerRecord<>("sandbox.container-events", 3, 1207L,
                "n1".getBytes(StandardCharsets.UTF_8), "garbage".getBytes(StandardCharsets.UTF_8));
        byte[] big = new byte[600_000];
        Arrays.fill(big, (byte) 'h');
        original.headers().add("padding-1", big).add("padding-2", big);
        Output dead = Output.deadLetter(records.deadLetter(original, ErrorCode.MALFORMED_EVENT, "not JSON",
                "com.fasterxml.jackson.core.JsonParseException"), "MALFORMED_EVENT");
        RecordTooLargeException tooLarge = new RecordTooLargeException("The message is 1200412 bytes");

        Output withoutValue = records.replacement(dead, tooLarge).orElseThrow();
        assertThat(withoutValue.record().value()).isNull();
        assertThat(headerKeys(withoutValue.record())).startsWith("padding-1", "padding-2");

        Output bare = records.replacement(withoutValue, tooLarge).orElseThrow();

        assertThat(bare.record().value()).isNull();
        assertThat(bare.record().key()).isEqualTo("n1".getBytes(StandardCharsets.UTF_8));
        assertThat(headerKeys(bare.record())).containsExactly("netfence.original.topic", "netfence.original.partition",
                "netfence.original.offset", "netfence.original.timestamp", "netfence.error.code",
                "netfence.error.message", "netfence.error.class", "netfence.instance", "netfence.original.size");
        assertThat(bare.deadLetterCode()).isEqualTo("MALFORMED_EVENT");
        assertThat(records.replacement(bare, tooLarge)).as("nothing smaller is left: held").isEqualTo(Optional.empty());
    }

    private static String[] headerKeys(ProducerRecord<byte[], byte[]> r) {
        return Arrays.stream(r.headers().toArray()).map(Header::key).toArray(String[]::new);
    }
}
