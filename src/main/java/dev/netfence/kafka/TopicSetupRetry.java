package dev.netfence.kafka;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tries the topic setup again while the broker did not answer it, or a missing topic could not be
 * created: a netfence started while its broker could not be reached (a first deployment during an
 * outage, the live-set topic deleted), or while its controller was recovering, created no missing
 * topic, and where the broker does not create topics itself the live-set read
 * and the pipeline then wait for a topic nobody makes. Every {@code first}, doubling to
 * {@code max}, on a daemon thread of its own, until an attempt is answered (the topics are then
 * created or known to exist) or {@link #close()}; each failed attempt is logged by the setup.
 */
public final class TopicSetupRetry implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TopicSetupRetry.class);

    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "netfence-topic-setup");
        t.setDaemon(true);
        return t;
    });
    private final BooleanSupplier attempt;
    private final Duration max;

    private TopicSetupRetry(BooleanSupplier attempt, Duration max) {
        this.attempt = attempt;
        this.max = max;
    }

    /**
     * Starts trying {@code attempt} (true: answered) after {@code first}, then after twice the
     * last pause up to {@code max}, until it answers.
     */
    public static TopicSetupRetry start(BooleanSupplier attempt, Duration first, Duration max) {
        if (first.isNegative() || first.isZero() || max.compareTo(first) < 0) {
            throw new IllegalArgumentException("first must be positive and max at least first, was: " + first + ", " + max);
        }
        TopicSetupRetry retry = new TopicSetupRetry(attempt, max);
        LOG.warn("the topic setup did not finish (the broker did not answer, or a missing topic could not be created);"
                + " trying again in {} s, then less and less often",
                first.toSeconds());
        retry.schedule(first);
        return retry;
    }

    private void schedule(Duration pause) {
        try {
            timer.schedule(() -> run(pause), pause.toNanos(), TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.RejectedExecutionException closed) {
            // closed meanwhile
        }
    }

    private void run(Duration pause) {
        boolean answered;
        try {
            answered = attempt.getAsBoolean();
        } catch (RuntimeException e) {
            LOG.warn("the topic setup failed: {}", e.toString());
            answered = false;
        }
        if (answered) {
            LOG.info("the topic setup finished: every missing topic is created");
            timer.shutdown();
        } else {
            Duration next = pause.multipliedBy(2);
            schedule(next.compareTo(max) > 0 ? max : next);
        }
    }

    /** Whether it has stopped trying (answered or closed). */
    public boolean stopped() {
        return timer.isShutdown();
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
