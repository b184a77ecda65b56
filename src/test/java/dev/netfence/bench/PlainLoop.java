package dev.netfence.bench;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The pipeline ceiling: the most a plain kafka-clients consumer-producer does on this broker.
 * It consumes the events topic in a consumer group, parses nothing, produces one record per input
 * (same key and value) and commits offsets every 200 ms, with the client settings netfence uses
 * (read_committed, manual commits, idempotent acks=all producer, linger 5 ms, 500 records a
 * poll). Run in its own JVM, like netfence: {@code PlainLoop BOOTSTRAP IN OUT GROUP N}; exits
 * once N records are acknowledged.
 */
public final class PlainLoop {
    private PlainLoop() {}

    public static void main(String[] args) {
        String bootstrap = args[0];
        String in = args[1];
        String out = args[2];
        String group = args[3];
        long n = Long.parseLong(args[4]);
        Map<String, Object> c = new HashMap<>();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        c.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 500);
        Map<String, Object> p = new HashMap<>();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        AtomicLong acked = new AtomicLong();
        AtomicReference<Exception> failure = new AtomicReference<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(),
                new ByteArrayDeserializer());
             KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(),
                     new ByteArraySerializer())) {
            consumer.subscribe(List.of(in));
            long nextCommit = 0;
            long sent = 0;
            while (acked.get() < n && failure.get() == null) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                    if (sent++ < n) {
                        producer.send(new ProducerRecord<>(out, r.key(), r.value()), (md, e) -> {
                            if (e != null) {
                                failure.compareAndSet(null, e);
                            } else {
                                acked.incrementAndGet();
                            }
                        });
                    }
                }
                long now = System.nanoTime();
                if (now - nextCommit >= 0) {
                    consumer.commitAsync();
                    nextCommit = now + 200_000_000L;
                }
            }
            producer.flush();
            consumer.commitSync();
        }
        if (failure.get() != null) {
            failure.get().printStackTrace();
            System.exit(3);
        }
    }
}
