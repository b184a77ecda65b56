package dev.netfence.kafka;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.LoggerFactory;
import org.slf4j.Marker;

/**
 * Bounds the log flood of a producer that splits a refused batch and retries it without end
 * (KAFKA-8350): kafka-clients' {@code Sender} logs a WARN {@code ... splitting and retrying (2147483647
 * attempts left)} for every round trip, some 200 a second, 8 MB of log in two minutes before its I/O
 * thread dies, until the {@link ProducerWatchdog} has the clients made again. Lets one such line
 * through per {@link #WINDOW} and drops the rest, and says how many it dropped when it lets the next
 * one through; every other line of every logger is left alone. Installed as a logback turbo filter
 * in {@code logback.xml}; thread-safe.
 */
public final class SplitRetryLogLimit extends TurboFilter {
    static final Duration WINDOW = Duration.ofSeconds(10);
    private static final String SENDER = "org.apache.kafka.clients.producer.internals.Sender";
    private static final org.slf4j.Logger LOG = LoggerFactory.getLogger(SplitRetryLogLimit.class);

    private final Clock clock;
    private final AtomicLong nextAllowed = new AtomicLong(Long.MIN_VALUE);
    private final AtomicLong dropped = new AtomicLong();

    /** For logback: windows on the system clock. */
    public SplitRetryLogLimit() {
        this(Clock.systemUTC());
    }

    SplitRetryLogLimit(Clock clock) {
        this.clock = clock;
    }

    @Override
    public FilterReply decide(Marker marker, Logger logger, Level level, String format, Object[] params, Throwable t) {
        if (format == null || !SENDER.equals(logger.getName()) || !format.contains("splitting and retrying")) {
            return FilterReply.NEUTRAL;
        }
        long now = clock.millis();
        long next = nextAllowed.get();
        if (now < next || !nextAllowed.compareAndSet(next, now + WINDOW.toMillis())) {
            dropped.incrementAndGet();
            return FilterReply.DENY;
        }
        long n = dropped.getAndSet(0);
        if (n > 0) {
            LOG.warn("{} more 'splitting and retrying' warnings of the Kafka producer dropped since the last one logged"
                    + " (at most one per {} s: a batch an output topic refuses, KAFKA-8350; the producer is made again"
                    + " once it stops answering)", n, WINDOW.toSeconds());
        }
        return FilterReply.NEUTRAL;
    }
}
