package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class PollWakerTest {
    private static final TopicPartition TP = new TopicPartition("events", 0);

    private final PollWaker waker = new PollWaker();
    /** A MockConsumer that records each poll's timeout and can run a step after the real poll returned. */
    private final RecordingConsumer consumer = new RecordingConsumer();

    @BeforeEach
    void assign() {
        consumer.assign(List.of(TP));
        consumer.updateBeginningOffsets(Map.of(TP, 0L));
    }

    @Test
    void aWakeUpSentAfterPollStoppedCheckingIsTakenBeforeTheNextConsumerCall() {
        consumer.afterPoll = waker::wake; // arrives when poll() has done its last check, still armed

        waker.poll(consumer, Duration.ofMillis(100), () -> false);

        assertThat(consumer.timeouts).containsExactly(Duration.ofMillis(100), Duration.ZERO);
        consumer.afterPoll = null;
        assertThatCode(() -> consumer.poll(Duration.ZERO)).as("no wake-up left pending for the next call")
                .doesNotThrowAnyException();
    }

    @Test
    void aWakeUpRaisedInsidePollEndsItWithNoRecordsAndNothingPending() {
        consumer.schedulePollTask(waker::wake);

        ConsumerRecords<byte[], byte[]> polled = waker.poll(consumer, Duration.ofMillis(100), () -> false);

        assertThat(polled.isEmpty()).isTrue();
        assertThat(consumer.timeouts).as("raised inside the poll: nothing to take afterwards").hasSize(1);
        assertThatCode(() -> consumer.poll(Duration.ZERO)).doesNotThrowAnyException();
    }

    @Test
    void aWakeUpOutsideAPollIsNotSentSoNoCommitMeetsIt() {
        AtomicInteger wakeups = new AtomicInteger();
        consumer.onWakeup = wakeups::incrementAndGet;
        waker.wake();
        waker.poll(consumer, Duration.ofMillis(1), () -> false);
        waker.wake();

        // (MockConsumer's commitSync never meets a pending wake-up: what reached the consumer is counted instead)
        assertThat(wakeups).as("wake-ups sent to the consumer").hasValue(0);
        assertThatCode(() -> consumer.poll(Duration.ZERO)).doesNotThrowAnyException();
    }

    @Test
    void aDisarmedPollIsNotWokenAndAtMostOneWakeUpIsSentPerPoll() {
        AtomicInteger wakeups = new AtomicInteger();
        consumer.onWakeup = wakeups::incrementAndGet;
        consumer.afterPoll = () -> {
            waker.wake();
            waker.wake();
        };
        waker.poll(consumer, Duration.ofMillis(1), () -> false);
        assertThat(wakeups).hasValue(1);

        consumer.afterPoll = () -> {
            waker.disarm();
            waker.wake();
        };
        waker.poll(consumer, Duration.ofMillis(1), () -> false);
        assertThat(wakeups).as("a rebalance callback disarmed the poll").hasValue(1);
    }

    @Test
    void workPostedBeforeThePollWasArmedMakesItReturnWithoutWaiting() {
        waker.poll(consumer, Duration.ofMillis(100), () -> true);

        assertThat(consumer.timeouts).containsExactly(Duration.ZERO);
    }

    @Test
    void aConsumerCallInARebalanceCallbackIsRetriedOnceOnAWakeUpSentBeforeTheCallbackDisarmed() {
        AtomicInteger calls = new AtomicInteger();
        PollWaker.retryOnce(() -> {
            if (calls.incrementAndGet() == 1) {
                throw new WakeupException();
            }
        });
        assertThat(calls).hasValue(2);

        assertThatThrownBy(() -> PollWaker.retryOnce(() -> {
            throw new WakeupException();
        })).isInstanceOf(WakeupException.class);
    }

    private static final class RecordingConsumer extends MockConsumer<byte[], byte[]> {
        final List<Duration> timeouts = new ArrayList<>();
        Runnable afterPoll;
        Runnable onWakeup = () -> { };

        RecordingConsumer() {
            super("earliest");
        }

        @Override
        public synchronized ConsumerRecords<byte[], byte[]> poll(Duration timeout) {
            timeouts.add(timeout);
            ConsumerRecords<byte[], byte[]> r = super.poll(timeout);
            Runnable after = afterPoll;
            if (after != null) {
                afterPoll = null;
                after.run();
            }
            return r;
        }

        @Override
        public synchronized void wakeup() {
            onWakeup.run();
            super.wakeup();
        }
    }
}
