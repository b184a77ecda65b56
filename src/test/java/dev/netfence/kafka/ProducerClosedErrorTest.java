package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.kafka.testkit.TestKafka;
import dev.netfence.testkit.KafkaLane;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * What the real producer hands a record's callback when it is closed before the broker answered
 * (netfence tearing its clients down): {@link SendErrors#producerClosed} recognises it, so the
 * record counts as the producer's end, never as one the broker refused.
 */
@KafkaLane
class ProducerClosedErrorTest {
    @Test
    void aRecordStillBatchedWhenTheProducerIsClosedFailsWithWhatSendErrorsCountsAsTheProducersEnd() throws Exception {
        String topic = TestKafka.uniqueTopic("closed");
        TestKafka.createTopics(1, topic);
        CompletableFuture<Exception> failure = new CompletableFuture<>();
        KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, TestKafka.bootstrapServers(),
                ProducerConfig.LINGER_MS_CONFIG, 60_000, // kept in its batch until the close
                ProducerConfig.BATCH_SIZE_CONFIG, 1 << 20), new ByteArraySerializer(), new ByteArraySerializer());
        producer.send(new ProducerRecord<>(topic, "k".getBytes(StandardCharsets.UTF_8), "v".getBytes(StandardCharsets.UTF_8)),
                (md, e) -> failure.complete(e));

        producer.close(Duration.ZERO);

        Exception e = failure.get(30, TimeUnit.SECONDS);
        assertThat(e).as("the record was not acknowledged").isNotNull();
        assertThat(SendErrors.producerClosed(e)).as("%s", e).isTrue();
        assertThat(SendErrors.classify(e)).isEqualTo(SendErrors.Kind.FATAL);
        assertThat(SendErrors.refusesRecord(e)).isFalse();
    }
}
