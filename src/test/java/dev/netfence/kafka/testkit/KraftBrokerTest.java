package dev.netfence.kafka.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.testkit.RunsAlone;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

@RunsAlone
class KraftBrokerTest {
    @Test
    void theTestBrokerKeepsRecordsAcrossARestart() throws Exception {
        String topic = TestKafka.uniqueTopic("kit");
        TestKafka.createTopics(1, topic);
        try (KafkaProducer<byte[], byte[]> p = TestKafka.producer()) {
            p.send(new ProducerRecord<>(topic, "before".getBytes(StandardCharsets.UTF_8))).get(30, TimeUnit.SECONDS);
        }
        TestKafka.embeddedFor("this test restarts the broker").restart();
        try (KafkaProducer<byte[], byte[]> p = TestKafka.producer()) {
            p.send(new ProducerRecord<>(topic, "after".getBytes(StandardCharsets.UTF_8))).get(60, TimeUnit.SECONDS);
        }
        assertThat(TestKafka.readAll(topic)).extracting(r -> new String(r.value(), StandardCharsets.UTF_8))
                .containsExactly("before", "after");
    }
}
