package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.policy.store.InMemoryPolicyStore;
import dev.netfence.testkit.MutableClock;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

/** {@link Readiness}: which not-ready reason {@code /readyz} names first. */
class ReadinessTest {
    private final MutableClock clock = new MutableClock(Instant.parse("2026-12-01T03:00:00Z"));
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final PipelineSettings settings = PipelineSettings.custom().bootstrapServers("localhost:9092").nodeId("n1")
            .build();
    private final FencedStandby standby = new FencedStandby(settings, "netfence-n1", clock, registry);
    private final PartitionMonitor monitor = new PartitionMonitor(registry, clock);
    private final Readiness readiness = new Readiness(() -> true, new PartitionBook(clock, monitor),
            new InMemoryPolicyStore(), standby, new BrokerProbe(Map.of(), new EventsTopicWatch("events", true)),
            new SendHealth(clock, Duration.ofSeconds(30)), new ProducerWatchdog(clock, List::of),
            monitor, new OpenTransactions(registry, clock), Duration.ofMinutes(2), Optional::empty);

    @Test
    void clientsThatKeepFailingBeforeAnyAssignmentAreNamedInsteadOfTheMissingAssignment() {
        assertThat(readiness.notReadyReason()).contains("no partition assignment received yet");

        for (int i = 0; i < FencedStandby.FAILURES_NOT_READY; i++) {
            standby.pauseAfter(new ConfigException("delivery.timeout.ms should be equal to or larger than linger.ms"
                    + " + request.timeout.ms"));
        }

        assertThat(readiness.notReadyReason()).contains("the Kafka clients failed 3 times in a row, recreated after each"
                + " without a poll round between; the last: org.apache.kafka.common.config.ConfigException:"
                + " delivery.timeout.ms should be equal to or larger than linger.ms + request.timeout.ms");
    }
}
