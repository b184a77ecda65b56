package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.event.ContainerEvent;
import dev.netfence.event.Outcome;
import dev.netfence.event.Outcomes;
import dev.netfence.policy.store.InMemoryPolicyStore;
import dev.netfence.reconcile.ContainerLifecycle;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class EventHandlerTest {
    private static final ContainerEvent STOP = new ContainerEvent(1, ContainerEvent.CONTAINER_STOPPED, "ev-stop",
            Instant.parse("2026-12-04T03:00:00Z"), "n1", "task-1", "c1", null, null);

    private static Outcome outcomeOfStop(Optional<String> kept) throws Exception {
        return outcomeOfStop(() -> kept);
    }

    private static Outcome outcomeOfStop(java.util.function.Supplier<Optional<String>> release) throws Exception {
        ContainerLifecycle lifecycle = new ContainerLifecycle() {
            @Override
            public EnforcementResult started(ContainerEvent event, Enforcement enforcement) {
                throw new AssertionError("not a start");
            }

            @Override
            public Optional<String> stopped(ContainerEvent event) {
                return release.get();
            }
        };
        EventHandler handler = new EventHandler(new InMemoryPolicyStore(), new RecordingEnforcer(),
                PolicyFailureHandler.REPORT_ONLY, new Outcomes(Clock.systemUTC(), "n1/1", "test"), Clock.systemUTC(),
                Duration.ofSeconds(1), Duration.ofSeconds(30), lifecycle);
        return handler.handle(STOP, false, Runnable::run).get();
    }

    @Test
    void aStopThatReleasedTheContainerIsReportedRemoved() throws Exception {
        Outcome o = outcomeOfStop(Optional.empty());

        assertThat(o.status()).isEqualTo("removed");
        assertThat(o.trigger()).isEqualTo("stop");
    }

    @Test
    void aStopWhoseReleaseFailedUnexpectedlyIsReportedFailedNotRemoved() throws Exception {
        Outcome o = outcomeOfStop(() -> {
            throw new IllegalStateException("host guard table gone");
        });

        assertThat(o.status()).isEqualTo("failed");
        assertThat(o.error().code()).isEqualTo("INTERNAL_ERROR");
        assertThat(o.error().message()).isEqualTo("releasing the container failed unexpectedly:"
                + " java.lang.IllegalStateException: host guard table gone");
        assertThat(o.quarantined()).as("a stopped container has nothing to quarantine").isFalse();
        assertThat(o.trigger()).isEqualTo("stop");
        assertThat(dev.netfence.event.DocumentSchema.load("outcome.v1.json").validate(
                new com.fasterxml.jackson.databind.ObjectMapper().readTree(new dev.netfence.event.OutcomeCodec().encode(o))))
                .as("an outcome v1 document").isEmpty();
    }

    @Test
    void aStopOfAnEarlierInstanceThatReleasedNothingIsReportedSkippedWithWhy() throws Exception {
        Outcome o = outcomeOfStop(Optional.of("this stop is of an earlier instance of container c1"));

        assertThat(o.status()).isEqualTo("skipped");
        assertThat(o.error().code()).isEqualTo("CONTAINER_NOT_FOUND");
        assertThat(o.error().message()).isEqualTo("this stop is of an earlier instance of container c1");
        assertThat(o.trigger()).isEqualTo("stop");
        assertThat(o.eventId()).isEqualTo("ev-stop");
        assertThat(dev.netfence.event.DocumentSchema.load("outcome.v1.json").validate(
                new com.fasterxml.jackson.databind.ObjectMapper().readTree(new dev.netfence.event.OutcomeCodec().encode(o))))
                .as("an outcome v1 document").isEmpty();
    }
}
