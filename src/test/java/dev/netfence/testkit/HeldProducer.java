package dev.netfence.testkit;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Kafka's MockProducer whose sends wait until {@link #release} (at most 30 s), as
 * {@code KafkaProducer.send} waits up to {@code max.block.ms} for a topic's metadata while the
 * broker is away; sends complete at once after that. For proving that no caller waits for it.
 */
public final class HeldProducer extends MockProducer<byte[], byte[]> {
    private final CountDownLatch entered = new CountDownLatch(1);
    private final CountDownLatch release = new CountDownLatch(1);

    public HeldProducer() {
        super(true, null, new ByteArraySerializer(), new ByteArraySerializer());
    }

    @Override
    public Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> r, Callback callback) {
        entered.countDown();
        try {
            release.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return super.send(r, callback);
    }

    /** Whether a send is (or was) held, within 10 s. */
    public boolean awaitHeld() throws InterruptedException {
        return entered.await(10, TimeUnit.SECONDS);
    }

    /** Lets every send through, the held one first. */
    public void release() {
        release.countDown();
    }
}
