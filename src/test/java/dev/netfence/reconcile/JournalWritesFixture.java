package dev.netfence.reconcile;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * What the tests of {@link JournalWrites} share: a journal writing to a {@link MockProducer} that
 * completes nothing by itself (each test acknowledges or fails the sends in turn), two values to
 * write, the error of a send the broker never acknowledged, and the values sent so far, in order.
 */
abstract class JournalWritesFixture {
    static final byte[] V1 = "v1".getBytes(StandardCharsets.UTF_8);
    static final byte[] V2 = "v2".getBytes(StandardCharsets.UTF_8);

    final MockProducer<byte[], byte[]> producer =
            new MockProducer<>(false, null, new ByteArraySerializer(), new ByteArraySerializer());
    final JournalWrites writes = new JournalWrites(producer, "sandbox.enforcements", false);

    static TimeoutException expired() {
        return new TimeoutException("Expiring 1 record(s) for sandbox.enforcements-0: 120000 ms has passed");
    }

    List<String> sentValues() {
        return producer.history().stream().map(r -> r.value() == null ? "tombstone" : new String(r.value(),
                StandardCharsets.UTF_8)).toList();
    }
}
