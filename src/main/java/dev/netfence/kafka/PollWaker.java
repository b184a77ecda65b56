package dev.netfence.kafka;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;

/**
 * Wakes the poll thread out of {@code consumer.poll()} as soon as a worker or a producer callback
 * posts a {@link Completions completion}, so an outcome is sent when it exists instead of at the
 * poll thread's next round (it used to poll for 2–8 ms while records were outstanding: that wait
 * was on every outcome's latency, and the short polls cost CPU on every event).
 * {@code KafkaConsumer.wakeup()} is the consumer's one thread-safe call and it is aimed poorly: a
 * wake-up sent while no call blocks is raised by the next blocking call, which may be a commit.
 * So a wake-up is sent only while the poll thread is inside {@link #poll} (armed), at most one per
 * poll; when {@code poll()} returns the thread disarms, and if a wake-up was sent that
 * {@code poll()} did not raise, it takes it at once with a zero-timeout poll (the classic consumer
 * raises a pending wake-up first thing in {@code poll()}, before it fetches). Rebalance callbacks
 * run inside {@code poll()}: they {@link #disarm} first, and retry a consumer call once on a
 * {@link WakeupException} ({@link #retryOnce}): after disarming, at most one can be pending.
 */
final class PollWaker {
    private Consumer<?, ?> consumer;
    private boolean armed;
    private boolean sent;

    /**
     * Poll thread: {@code consumer.poll(timeout)}, returning early when {@link #wake woken};
     * {@code hasWork} is asked after arming, and true polls without waiting (work posted before
     * the arming sent no wake-up).
     */
    ConsumerRecords<byte[], byte[]> poll(Consumer<byte[], byte[]> c, Duration timeout, BooleanSupplier hasWork) {
        synchronized (this) {
            consumer = c;
            armed = true;
            sent = false;
        }
        ConsumerRecords<byte[], byte[]> polled;
        boolean raised = false;
        try {
            polled = c.poll(hasWork.getAsBoolean() ? Duration.ZERO : timeout);
        } catch (WakeupException e) {
            polled = ConsumerRecords.empty();
            raised = true;
        } finally {
            disarm();
        }
        if (!raised && wasSent()) {
            try {
                polled = merge(polled, c.poll(Duration.ZERO));
            } catch (WakeupException e) {
                // the wake-up poll() returned before raising: taken here, so no commit meets it
            }
        }
        return polled;
    }

    /** Any thread: wakes the poll thread if it is inside {@link #poll} and was not woken yet. */
    void wake() {
        synchronized (this) {
            if (armed && !sent) {
                sent = true;
                consumer.wakeup();
            }
        }
    }

    /** Poll thread (rebalance callbacks): no wake-up from now until the next {@link #poll}. */
    synchronized void disarm() {
        armed = false;
    }

    /**
     * Runs {@code call}, and once more if it raised a {@link WakeupException}: for consumer calls in
     * rebalance callbacks, after {@link #disarm}, where one wake-up sent before may still be pending.
     */
    static void retryOnce(Runnable call) {
        try {
            call.run();
        } catch (WakeupException e) {
            call.run();
        }
    }

    private synchronized boolean wasSent() {
        return sent;
    }

    private static ConsumerRecords<byte[], byte[]> merge(ConsumerRecords<byte[], byte[]> a,
                                                         ConsumerRecords<byte[], byte[]> b) {
        if (b.isEmpty()) {
            return a;
        }
        if (a.isEmpty()) {
            return b;
        }
        Map<TopicPartition, List<ConsumerRecord<byte[], byte[]>>> records = new HashMap<>();
        for (ConsumerRecords<byte[], byte[]> part : List.of(a, b)) {
            for (TopicPartition tp : part.partitions()) {
                records.computeIfAbsent(tp, k -> new java.util.ArrayList<>()).addAll(part.records(tp));
            }
        }
        Map<TopicPartition, OffsetAndMetadata> next = new HashMap<>(a.nextOffsets());
        next.putAll(b.nextOffsets());
        return new ConsumerRecords<>(records, next);
    }
}
