package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.MeterNames;
import dev.netfence.testkit.MutableClock;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.FencedInstanceIdException;
import org.apache.kafka.common.errors.ProducerFencedException;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Both fences (static membership, per-node transactional.id) lead to the same standby: a pause that
 * doubles from 5 s to 5 minutes and starts over after a quiet spell, a readiness reason that says
 * who fenced and when the instance joins again, the gauge and the counter. Other failures recreate
 * the clients without standing by, after a pause doubling from a second to a minute that starts
 * over after a healthy round, logging a cause's stack once.
 */
class FencedStandbyTest {
    private final MutableClock clock = new MutableClock(Instant.parse("2026-12-01T03:00:00Z"));
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    private FencedStandby standby(PipelineSettings.Builder s) {
        return new FencedStandby(s.build(), "netfence-n1", clock, registry);
    }

    private static PipelineSettings.Builder settings() {
        return PipelineSettings.custom().bootstrapServers("localhost:9092").nodeId("n1");
    }

    @Test
    void fencedOutOfItsStaticMembershipItStandsByWithADoublingPauseAndSaysSo() {
        FencedStandby s = standby(settings());
        RuntimeException fenced = new KafkaException("poll failed", new FencedInstanceIdException("fenced"));

        assertThat(s.pauseAfter(fenced)).isEqualTo(5_000);
        assertThat(s.reason()).hasValue("fenced: another instance joined group netfence-n1 with group.instance.id "
                + "netfence-n1; standing by, joining again in 5 s");
        assertThat(registry.get(MeterNames.FENCED_STANDBY).gauge().value()).isEqualTo(1.0);
        assertThat(registry.get(MeterNames.FENCED).tag("by", "group.instance.id").counter().count()).isEqualTo(1.0);
        clock.advance(Duration.ofSeconds(3));
        assertThat(s.reason()).get().asString().endsWith("joining again in 2 s");
        s.resume();
        assertThat(s.reason()).isEmpty();
        assertThat(registry.get(MeterNames.FENCED_STANDBY).gauge().value()).isZero();

        assertThat(s.pauseAfter(fenced)).isEqualTo(10_000);
        assertThat(s.pauseAfter(fenced)).isEqualTo(20_000);
        for (int i = 0; i < 6; i++) {
            s.pauseAfter(fenced);
        }
        assertThat(s.pauseAfter(fenced)).as("at most 5 minutes").isEqualTo(300_000);
        clock.advance(Duration.ofMinutes(11));
        assertThat(s.pauseAfter(fenced)).as("after a quiet spell it starts over").isEqualTo(5_000);
    }

    @Test
    void fencedOutOfItsStaticMembershipItJoinsAgainOnceTheGroupHasNoOtherMemberWithItsId() throws Exception {
        FencedStandby s = standby(settings());
        long pause = s.pauseAfter(new KafkaException("poll failed", new FencedInstanceIdException("fenced")));
        for (int i = 0; i < 5; i++) {
            pause = s.pauseAfter(new KafkaException("poll failed", new FencedInstanceIdException("fenced")));
        }
        java.util.concurrent.atomic.AtomicInteger asked = new java.util.concurrent.atomic.AtomicInteger();
        java.util.Iterator<Optional<Boolean>> answers = List.of(Optional.of(true), Optional.<Boolean>empty(),
                Optional.of(false)).iterator();
        long start = System.nanoTime();

        s.standBy(pause, () -> false, () -> { }, () -> {
            asked.incrementAndGet();
            return answers.next();
        });

        assertThat(pause).as("a long pause").isEqualTo(160_000);
        assertThat(asked).as("present, unknown (no answer: kept waiting), gone").hasValue(3);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(30));
    }

    @Test
    void fencedOutOfItsTransactionalIdItDoesNotAskAboutTheGroupAndWaitsItsPause() throws Exception {
        FencedStandby s = standby(settings().exactlyOnce(true).assignment(Assignment.NODE_PARTITION));
        s.pauseAfter(new KafkaException("send failed", new ProducerFencedException("fenced")));

        s.standBy(2_500, () -> false, () -> { }, () -> {
            throw new AssertionError("no static membership to ask about");
        });

        assertThat(s.standingBy()).isTrue();
    }

    @Test
    void fencedOutOfItsPerNodeTransactionalIdItStandsByTheSameWay() {
        FencedStandby s = standby(settings().exactlyOnce(true).assignment(Assignment.NODE_PARTITION));

        assertThat(s.pauseAfter(new KafkaException(new ProducerFencedException("epoch")))).isEqualTo(5_000);
        assertThat(s.reason()).hasValue("fenced: another instance uses transactional.id netfence-n1 (node-partition, "
                + "exactly-once); standing by, joining again in 5 s");
        assertThat(registry.get(MeterNames.FENCED).tag("by", "transactional.id").counter().count()).isEqualTo(1.0);
    }

    @Test
    void otherFailuresRecreateTheClientsAfterASecondWithoutStandingBy() {
        FencedStandby groupMode = standby(settings().exactlyOnce(true));

        assertThat(groupMode.pauseAfter(new IllegalStateException("boom"))).isEqualTo(1000);
        assertThat(groupMode.pauseAfter(new ProducerFencedException("a per-instance id: not another instance")))
                .as("the back-off's second step").isEqualTo(2000);
        assertThat(groupMode.standingBy()).isFalse();
        assertThat(groupMode.reason()).isEmpty();
    }

    @Test
    void otherFailuresInARowRecreateTheClientsAfterAPauseDoublingFromOneSecondUpToAMinute() {
        FencedStandby s = standby(settings());
        RuntimeException unresolvable = new KafkaException("Failed to construct kafka consumer",
                new org.apache.kafka.common.config.ConfigException("No resolvable bootstrap urls given in bootstrap.servers"));
        List<Long> pauses = new java.util.ArrayList<>();

        for (int i = 0; i < 9; i++) {
            s.clientsCreated();
            pauses.add(s.pauseAfter(unresolvable));
        }

        assertThat(pauses).containsExactly(1000L, 2000L, 4000L, 8000L, 16000L, 32000L, 60000L, 60000L, 60000L);
        assertThat(s.reason()).as("the readiness reason is unchanged").hasValue("the Kafka clients failed 9 times in a "
                + "row, recreated after each without a poll round between; the last: " + unresolvable);
    }

    @Test
    void aRoundWhoseClientsReadRecordsAndFailedWithinAMinuteKeepsBackingOff() {
        // e.g. every outcome's send refused: each round reads its uncommitted records again, then fails
        FencedStandby s = standby(settings());
        s.pauseAfter(new IllegalStateException("boom"));
        s.pauseAfter(new IllegalStateException("boom"));
        s.clientsCreated();
        s.polled(3);
        clock.advance(Duration.ofSeconds(5));

        assertThat(s.pauseAfter(new IllegalStateException("boom"))).isEqualTo(4000);
    }

    @Test
    void aRoundThatRanAMinuteStartsTheBackOffOverWhileShorterOnesAndEmptyPollsDoNot() {
        FencedStandby s = standby(settings());
        RuntimeException refused = new KafkaException(new org.apache.kafka.common.errors.GroupAuthorizationException(
                "Not authorized to access group: netfence-n1"));
        s.pauseAfter(refused);
        s.pauseAfter(refused);
        s.clientsCreated();
        s.polled(0);
        clock.advance(Duration.ofSeconds(59));

        assertThat(s.pauseAfter(refused)).as("empty polls for 59 s: still backing off").isEqualTo(4000);
        assertThat(s.reason()).as("a poll round between: not failing in a row for readiness").isEmpty();
        s.clientsCreated();
        clock.advance(Duration.ofSeconds(60));
        assertThat(s.pauseAfter(refused)).isEqualTo(1000);
    }

    @Test
    void aRepeatedCauseIsLoggedWithItsStackOnceAndThenInOneLine() {
        ch.qos.logback.classic.Logger logger = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(
                ClientsBackoff.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logged =
                new ch.qos.logback.core.read.ListAppender<>();
        logged.start();
        logger.addAppender(logged);
        try {
            FencedStandby s = standby(settings());
            for (int i = 0; i < 3; i++) {
                s.pauseAfter(new KafkaException("Failed to construct kafka consumer",
                        new org.apache.kafka.common.config.ConfigException("No resolvable bootstrap urls")));
            }
            s.pauseAfter(new IllegalStateException("another cause"));
            s.pauseAfter(new KafkaException("Failed to construct kafka consumer",
                    new org.apache.kafka.common.config.ConfigException("No resolvable bootstrap urls")));
        } finally {
            logger.detachAppender(logged);
        }

        assertThat(logged.list).hasSize(5).allSatisfy(e -> assertThat(e.getLevel().toString()).isEqualTo("ERROR"));
        assertThat(logged.list).extracting(e -> e.getThrowableProxy() != null)
                .as("a stack for the first of each distinct cause only").containsExactly(true, false, false, true, false);
        assertThat(logged.list.get(1).getFormattedMessage()).isEqualTo("consumer loop failed again (2 in a row without a"
                + " poll round), as logged before with its stack; recreating the Kafka clients in 2 s: "
                + "org.apache.kafka.common.KafkaException: Failed to construct kafka consumer");
    }

    @Test
    void fromTheThirdFailureInARowWithoutAPollRoundTheInstanceIsNotReadyAndEachRecreationIsCounted() {
        FencedStandby s = standby(settings().exactlyOnce(true));
        RuntimeException refused = new KafkaException("initTransactions failed",
                new org.apache.kafka.common.errors.TransactionalIdAuthorizationException("not authorised"));

        s.pauseAfter(refused);
        s.pauseAfter(refused);
        assertThat(s.reason()).as("two in a row: a broker restart, say").isEmpty();
        s.pauseAfter(refused);

        assertThat(s.reason()).hasValue("the Kafka clients failed 3 times in a row, recreated after each without a "
                + "poll round between; the last: org.apache.kafka.common.KafkaException: initTransactions failed");
        assertThat(registry.get(MeterNames.CLIENTS_RECREATED).counter().count()).isEqualTo(3.0);
        s.polled(0);
        assertThat(s.reason()).isEmpty();
        s.pauseAfter(refused);
        assertThat(s.reason()).isEmpty();
    }
}
