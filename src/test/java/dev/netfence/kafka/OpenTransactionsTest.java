package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.MeterNames;
import dev.netfence.testkit.MutableClock;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.reflect.Proxy;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/**
 * {@link OpenTransactions} against an admin client that answers offsets as a test says (the
 * broker's side is {@code OpenTransactionVisibilityTest}): the gauge per partition, and that
 * closing leaves no gauge behind, also when a look was under way.
 */
class OpenTransactionsTest {
    private static final TopicPartition TP = new TopicPartition("events", 0);

    @Test
    void aLookExportsTheRecordsPastTheLastStableOffset() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        MutableClock clock = new MutableClock(Instant.parse("2026-12-06T23:00:00Z"));
        try (OpenTransactions open = new OpenTransactions(registry, clock)) {
            open.assigned(List.of(new PartitionOffsets(TP)));
            open.check(admin(12, 5, null));

            assertThat(registry.get(MeterNames.PARTITION_UNSTABLE_RECORDS).tag("partition", "0").gauge().value())
                    .isEqualTo(7.0);
            clock.advance(Duration.ofSeconds(30));
            open.check(admin(14, 5, null)); // more written behind the same open transaction
            assertThat(open.stalled(Duration.ofSeconds(30))).isEmpty();
            clock.advance(Duration.ofSeconds(1));
            assertThat(open.stalled(Duration.ofSeconds(30))).hasValueSatisfying(reason -> assertThat(reason)
                    .startsWith("partition events-0 has had an open transaction at offset 5 for 31 s"));
        }
        assertThat(registry.find(MeterNames.PARTITION_UNSTABLE_RECORDS).gauges()).isEmpty();
    }

    @Test
    void aPoliciesPartitionTheStoreReadsIsWatchedTooAndAnEventsPartitionIsNamedFirst() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        MutableClock clock = new MutableClock(Instant.parse("2026-12-06T23:00:00Z"));
        TopicPartition policies = new TopicPartition("policies", 2);
        List<TopicPartition> read = new java.util.ArrayList<>(List.of(policies));
        try (OpenTransactions open = new OpenTransactions(registry, clock, () -> read)) {
            open.check(admin(9, 4, null));
            assertThat(registry.get(MeterNames.PARTITION_UNSTABLE_RECORDS).tag("topic", "policies").tag("partition", "2")
                    .gauge().value()).isEqualTo(5.0);
            clock.advance(Duration.ofSeconds(31));
            assertThat(open.stalled(Duration.ofSeconds(30))).hasValueSatisfying(reason -> assertThat(reason)
                    .isEqualTo("policies partition policies-2 has had an open transaction at offset 4 for 31 s, more than"
                            + " the stall timeout of 30 s: 5 record(s) behind it (policy changes: running containers keep"
                            + " the policies read before) are not read until its producer commits or aborts it, or the"
                            + " broker aborts it at its transaction.timeout.ms"));

            open.assigned(List.of(new PartitionOffsets(TP)));
            open.check(admin(9, 4, null));
            clock.advance(Duration.ofSeconds(31));
            assertThat(open.stalled(Duration.ofSeconds(30))).hasValueSatisfying(reason -> assertThat(reason)
                    .startsWith("partition events-0 has had an open transaction at offset 4 for 31 s"));

            read.clear(); // the store reads another topic now (created again): its old partitions are not watched
            open.assigned(List.of());
            open.check(admin(9, 4, null));
            assertThat(open.stalled(Duration.ofSeconds(0))).isEmpty();
            assertThat(registry.find(MeterNames.PARTITION_UNSTABLE_RECORDS).gauges()).isEmpty();
        }
    }

    @Test
    void aLookUnderWayWhenThePipelineClosesRegistersNoGaugeAfterIt() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        OpenTransactions open = new OpenTransactions(registry, Clock.systemUTC());
        open.assigned(List.of(new PartitionOffsets(TP)));
        CountDownLatch asking = new CountDownLatch(1);
        CountDownLatch closed = new CountDownLatch(1);
        Thread look = new Thread(() -> {
            try {
                open.check(admin(12, 5, () -> {
                    asking.countDown();
                    closed.await(10, TimeUnit.SECONDS);
                }));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        look.start();
        assertThat(asking.await(10, TimeUnit.SECONDS)).isTrue();

        open.close();
        closed.countDown();
        look.join(10_000);

        assertThat(look.isAlive()).isFalse();
        assertThat(registry.find(MeterNames.PARTITION_UNSTABLE_RECORDS).gauges()).isEmpty();
    }

    private interface Pause {
        void await() throws InterruptedException;
    }

    /** An admin client whose only answer is listOffsets: {@code end} read uncommitted, {@code stable} committed. */
    private static Admin admin(long end, long stable, Pause beforeAnswer) {
        AtomicInteger calls = new AtomicInteger();
        return (Admin) Proxy.newProxyInstance(Admin.class.getClassLoader(), new Class<?>[] {Admin.class},
                (proxy, method, args) -> {
                    if (!method.getName().equals("listOffsets") || args.length != 2) {
                        throw new UnsupportedOperationException(method.getName());
                    }
                    if (calls.getAndIncrement() == 1 && beforeAnswer != null) {
                        beforeAnswer.await(); // the second question, committed offsets: the look is under way
                    }
                    @SuppressWarnings("unchecked")
                    Map<TopicPartition, OffsetSpec> asked = (Map<TopicPartition, OffsetSpec>) args[0];
                    long offset = ((ListOffsetsOptions) args[1]).isolationLevel() == IsolationLevel.READ_COMMITTED
                            ? stable : end;
                    Map<TopicPartition, KafkaFuture<ListOffsetsResultInfo>> answers = new HashMap<>();
                    asked.keySet().forEach(tp -> answers.put(tp,
                            KafkaFuture.completedFuture(new ListOffsetsResultInfo(offset, -1, Optional.empty()))));
                    return new ListOffsetsResult(answers);
                });
    }
}
