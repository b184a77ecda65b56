package dev.netfence.kafka;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How long the consumer loop waits before making its Kafka clients again after a failure other
 * than a fence, and how loudly it says so. The pause starts at {@link #FIRST} and doubles with each
 * failure up to {@link #MAX}; it starts over once a round ran healthily: its clients ran for
 * {@link #HEALTHY_RUN} before failing (measured on the injected clock, the pipeline's steady one).
 * Records read do not count: a round that fails on each outcome it sends (the outcomes topic's
 * write refused) reads its uncommitted records again every time. Each failure is logged at ERROR, its stack trace only the first time its cause (the
 * failure's and its root cause's class and message) is seen since the last healthy round; later
 * repeats are one line. So a persistent cause (bootstrap names unresolvable, a group ACL refused)
 * costs a client set and a log line a minute rather than a second, each with a stack. Poll thread
 * only.
 */
final class ClientsBackoff {
    private static final Logger LOG = LoggerFactory.getLogger(ClientsBackoff.class);
    static final Duration FIRST = Duration.ofSeconds(1);
    static final Duration MAX = Duration.ofSeconds(60);
    /** Clients that ran this long before failing ran healthily: the back-off starts over. */
    static final Duration HEALTHY_RUN = Duration.ofSeconds(60);
    /** At most this many distinct causes are remembered as logged with their stack. */
    private static final int REMEMBERED_CAUSES = 16;

    private final Clock clock;
    private final Set<String> logged = new LinkedHashSet<>();
    /** Failures since the last healthy round: the exponent of the next pause. */
    private int backedOff;
    private Instant clientsSince;

    ClientsBackoff(Clock clock) {
        this.clock = clock;
    }

    /** New clients are being made: a round starts. */
    void clientsCreated() {
        clientsSince = clock.instant();
    }

    /**
     * The round failed with {@code e}, the {@code inARow}-th failure without a poll round between:
     * logs it and returns the pause, in milliseconds, before the clients are made again.
     */
    long pauseAfter(RuntimeException e, int inARow) {
        if (ranHealthily()) {
            backedOff = 0;
            logged.clear();
        }
        long pause = Math.min(MAX.toMillis(), FIRST.toMillis() << Math.min(backedOff, 20));
        backedOff++;
        clientsSince = null;
        if (remember(cause(e))) {
            LOG.error("consumer loop failed; recreating the Kafka clients in {} s", pause / 1000, e);
        } else {
            LOG.error("consumer loop failed again ({} in a row without a poll round), as logged before with its "
                    + "stack; recreating the Kafka clients in {} s: {}", inARow, pause / 1000, e.toString());
        }
        return pause;
    }

    private boolean ranHealthily() {
        return clientsSince != null && Duration.between(clientsSince, clock.instant()).compareTo(HEALTHY_RUN) >= 0;
    }

    /** True the first time {@code cause} is seen since the last healthy round. */
    private boolean remember(String cause) {
        if (!logged.add(cause)) {
            return false;
        }
        if (logged.size() > REMEMBERED_CAUSES) {
            logged.remove(logged.iterator().next());
        }
        return true;
    }

    /** The failure's class and message, and its root cause's when it has another. */
    static String cause(Throwable e) {
        Throwable root = e;
        for (int depth = 0; root.getCause() != null && root.getCause() != root && depth < 32; depth++) {
            root = root.getCause();
        }
        return root == e ? e.toString() : e + " <- " + root;
    }
}
