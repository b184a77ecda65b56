package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.MeterNames;
import dev.netfence.event.OutcomeCodec;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetCommitCallback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/** At-least-once commits: a failed asynchronous commit moves no commit point, is counted, and the next round commits again. */
class AtLeastOnceSinkTest {
    private static final TopicPartition TP = new TopicPartition("events", 0);

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final Completions completions = new Completions();
    private boolean refuse = true;
    private final MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("earliest") {
        @Override
        public synchronized void commitAsync(Map<TopicPartition, OffsetAndMetadata> offsets, OffsetCommitCallback cb) {
            if (refuse) {
                cb.onComplete(offsets, new GroupAuthorizationException("Not authorized to access group: netfence-n1"));
            } else {
                cb.onComplete(offsets, null);
            }
        }
    };

    @Test
    void aFailedAsynchronousCommitIsCountedAndTheNextRoundCommitsAgain() {
        AtLeastOnceSink sink = new AtLeastOnceSink(new MockProducer<>(true, null, new ByteArraySerializer(),
                new ByteArraySerializer()), consumer, completions, new PipelineMetrics(registry, Clock.systemUTC()),
                new OutputRecords(new OutcomeCodec(), "outcomes", "events.dlq", "n1/1", "n1"),
                new SendHealth(Clock.systemUTC(), Duration.ofSeconds(30)));
        PartitionOffsets po = new PartitionOffsets(TP);
        po.track(7);
        po.done(7);

        sink.commit(List.of(po), false);
        completions.runAll();

        assertThat(po.lastCommitted()).as("nothing committed").isNegative();
        assertThat(registry.get(MeterNames.COMMIT_FAILURES).tag("error", "GroupAuthorizationException").counter()
                .count()).isEqualTo(1.0);
        refuse = false;
        sink.commit(List.of(po), false);
        completions.runAll();
        assertThat(po.lastCommitted()).isEqualTo(8);
        sink.close();
    }
}
