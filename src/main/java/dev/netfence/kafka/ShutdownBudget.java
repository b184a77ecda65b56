package dev.netfence.kafka;

import java.time.Duration;

/**
 * How a stop spends its time, so that the whole of it fits a termination grace period
 * (Kubernetes: 30 s by default). On SIGTERM the pipeline drains once, bounded by
 * {@code --shutdown-timeout} (default {@link #DEFAULT_DRAIN}); enforcements still running then
 * get {@link #STRAGGLERS} more, with nothing new started; then one synchronous commit (at most
 * {@link #FINAL_COMMIT}); then it closes the consumer, the producer and the consumer of the
 * keyless records' shared group (at most {@link #CLIENT_CLOSE} each). Default total:
 * 15 + 2 + 5 + 2 + 2 + 2 = 28 s, leaving room for the JVM, the policy store and the HTTP server
 * within 30 s. A longer {@code --shutdown-timeout} needs a
 * grace period of at least that plus {@link #AFTER_DRAIN} and a few seconds.
 */
public final class ShutdownBudget {
    public static final Duration DEFAULT_DRAIN = Duration.ofSeconds(15);
    public static final Duration STRAGGLERS = Duration.ofSeconds(2);
    public static final Duration FINAL_COMMIT = Duration.ofSeconds(5);
    public static final Duration CLIENT_CLOSE = Duration.ofSeconds(2);
    /** What a stop may take after the drain: stragglers, the final commit and closing the three clients. */
    public static final Duration AFTER_DRAIN = STRAGGLERS.plus(FINAL_COMMIT).plus(CLIENT_CLOSE.multipliedBy(3));

    private ShutdownBudget() {}
}
