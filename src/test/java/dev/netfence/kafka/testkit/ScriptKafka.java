package dev.netfence.kafka.testkit;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The two Kafka chores {@code scripts/chaos.sh} cannot do with the netfence CLI alone, as a tiny
 * command line on the test classpath. {@code publish BOOTSTRAP TOPIC} sends stdin's
 * {@code KEY<TAB>VALUE} lines in order with an idempotent {@code acks=all} producer and exits 0
 * only when the broker acknowledged every one (the chaos script needs its own event ids, which
 * {@code netfence publish} does not take, and one JVM for a whole wave instead of one per event).
 * {@code lag BOOTSTRAP GROUP TOPIC} prints {@code committed=C end=E} summed over the topic's
 * partitions, so the script can wait until the consumer group has committed everything before it
 * reads the final rules. Failures are one line on stderr and exit 3.
 */
public final class ScriptKafka {
    private ScriptKafka() {
    }

    public static void main(String[] args) {
        try {
            if (args.length == 3 && args[0].equals("publish")) {
                publish(args[1], args[2]);
            } else if (args.length == 4 && args[0].equals("lag")) {
                lag(args[1], args[2], args[3]);
            } else {
                System.err.println("usage: ScriptKafka publish BOOTSTRAP TOPIC < KEY<TAB>VALUE lines | lag BOOTSTRAP GROUP TOPIC");
                System.exit(2);
            }
        } catch (Exception e) {
            System.err.println("ScriptKafka " + args[0] + ": " + e);
            System.exit(3);
        }
        System.exit(0);
    }

    private static void publish(String bootstrap, String topic) throws Exception {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60_000);
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
             BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                if (line.isBlank()) {
                    continue;
                }
                int tab = line.indexOf('\t');
                if (tab < 1) {
                    throw new IllegalArgumentException("expected KEY<TAB>VALUE, got: " + line);
                }
                sent.add(producer.send(new ProducerRecord<>(topic, line.substring(0, tab), line.substring(tab + 1))));
            }
            producer.flush();
            for (Future<RecordMetadata> f : sent) {
                f.get(60, TimeUnit.SECONDS);
            }
        }
        System.out.println("published=" + sent.size());
    }

    private static void lag(String bootstrap, String group, String topic) throws Exception {
        Map<String, Object> conf = Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 20_000);
        try (Admin admin = Admin.create(conf)) {
            List<TopicPartition> partitions = admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS)
                    .get(topic).partitions().stream().map(i -> new TopicPartition(topic, i.partition())).toList();
            ListOffsetsResult ends = admin.listOffsets(partitions.stream()
                    .collect(Collectors.toMap(tp -> tp, tp -> OffsetSpec.latest())));
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
            long end = 0;
            long done = 0;
            for (TopicPartition tp : partitions) {
                end += ends.partitionResult(tp).get(30, TimeUnit.SECONDS).offset();
                OffsetAndMetadata c = committed.get(tp);
                done += c == null ? 0 : c.offset();
            }
            System.out.println("committed=" + done + " end=" + end);
        }
    }
}
