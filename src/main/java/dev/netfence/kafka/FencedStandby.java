package dev.netfence.kafka;

import java.util.Optional;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What an exactly-once {@code node-partition} instance does when another instance of its node
 * fenced its per-node {@code transactional.id}: it stands by (not ready, no clients) for a pause that
 * doubles from 5 s up to 5 minutes, instead of recreating its clients at once and fencing the other
 * in turn, which made two instances of one node (a rolling deploy) fence each other in a loop.
 * After the pause it tries again: if the other instance is gone, it takes over. Poll thread only,
 * except {@link #reason()}.
 */
final class FencedStandby {
    private static final Logger LOG = LoggerFactory.getLogger(FencedStandby.class);
    private static final long FIRST_PAUSE_MS = 5_000;
    private static final long MAX_PAUSE_MS = 300_000;

    private final boolean applies;
    private final String transactionalId;
    private int inARow;
    private long lastFenced;
    private volatile String reason;

    /** @param applies exactly-once with node-partition assignment, the one mode with a per-node transactional.id */
    FencedStandby(boolean applies, String transactionalId) {
        this.applies = applies;
        this.transactionalId = transactionalId;
    }

    /** The consumer loop failed with {@code e}: logs it and returns how long to wait before recreating the clients. */
    long pauseAfter(RuntimeException e) {
        if (applies && isFenced(e)) {
            return fenced();
        }
        LOG.error("consumer loop failed; recreating the Kafka clients", e);
        return 1000;
    }

    static boolean isFenced(Throwable e) {
        for (Throwable t = e; t != null && t.getCause() != t; t = t.getCause()) {
            if (t instanceof ProducerFencedException) {
                return true;
            }
        }
        return false;
    }

    /** This instance was fenced: the pause to stand by for, in milliseconds. */
    private long fenced() {
        long now = System.nanoTime();
        if (inARow > 0 && now - lastFenced > 2 * MAX_PAUSE_MS * 1_000_000) {
            inARow = 0;
        }
        lastFenced = now;
        long pause = Math.min(MAX_PAUSE_MS, FIRST_PAUSE_MS << Math.min(inARow, 6));
        inARow++;
        reason = "fenced by another instance using transactional.id " + transactionalId
                + " (node-partition, exactly-once); standing by for " + pause / 1000 + " s";
        LOG.warn("{}: that instance now owns this node's partition; this one will try again afterwards", reason);
        return pause;
    }

    void resume() {
        reason = null;
    }

    /** Why this instance is standing by, if it is. */
    Optional<String> reason() {
        return Optional.ofNullable(reason);
    }
}
