package dev.netfence.kafka;

import dev.netfence.core.MeterNames;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What an instance does when another instance of its node fences it out, one behaviour for both
 * fences: its static group membership (another consumer joined with the same
 * {@code group.instance.id}, see {@link StaticMembership}) and, exactly-once in
 * {@code node-partition} mode, its per-node {@code transactional.id}. It <em>stands by</em>: alive,
 * no Kafka clients, not ready with the reason on {@code /readyz}, gauge
 * {@code netfence.fenced.standby} 1, counter {@code netfence.fenced} (tag {@code by}); for a pause
 * that doubles from 5 s up to 5 minutes (back to 5 s after 10 quiet minutes). Then it recreates
 * its clients: if the other instance is gone, it takes over; if it still runs, this attempt fences
 * it in turn and it stands by the same way. So two instances of one node (a rolling update with
 * surge) alternate at most once per pause instead of fencing each other in a loop, and a fenced
 * instance never stays down for good while it reports nothing. Fenced out of its static group
 * membership, it asks the broker every {@link #CHECK_EVERY} during the pause whether the group
 * still has a member with its {@code group.instance.id} ({@link #standBy}): once it has none (the
 * other instance gone, and its session expired) it joins again at once, instead of leaving the node
 * unenforced for the rest of a pause of up to 5 minutes. Other failures recreate the
 * clients after a pause that doubles from 1 s up to 60 s ({@link ClientsBackoff}: a persistent
 * cause, bootstrap names unresolvable or a group ACL refused, churns no clients and floods no log;
 * its stack is logged once per distinct cause); from the third in a row without a poll round
 * between them (say the producer's {@code initTransactions} refused on every attempt) the instance
 * is not ready either, with the last failure as the reason, and counter
 * {@code netfence.kafka.clients.recreated} counts every recreation. Poll thread only, except
 * {@link #reason()}.
 */
final class FencedStandby {
    private static final Logger LOG = LoggerFactory.getLogger(FencedStandby.class);
    static final Duration FIRST_PAUSE = Duration.ofSeconds(5);
    static final Duration MAX_PAUSE = Duration.ofMinutes(5);
    /** How often a standby fenced out of its static membership asks whether the other member is still there. */
    static final Duration CHECK_EVERY = Duration.ofSeconds(2);

    private final PipelineSettings settings;
    private final String transactionalId;
    private final Clock clock;
    private final MeterRegistry registry;
    private final AtomicInteger standingBy = new AtomicInteger();
    private final ClientsBackoff backoff;
    private int inARow;
    private Instant lastFenced = Instant.MIN;
    private volatile String why;
    /** The last fence was of the static group membership (not of the transactional.id). */
    private volatile boolean byGroup;
    private volatile Instant until;
    /** Failures other than a fence since the consumer loop last ran a poll round, and the last of them. */
    private volatile int failedInARow;
    private volatile String lastFailure;
    /** From this many failures in a row the instance is not ready. */
    static final int FAILURES_NOT_READY = 3;

    FencedStandby(PipelineSettings settings, String transactionalId, Clock clock, MeterRegistry registry) {
        this.settings = settings;
        this.transactionalId = transactionalId;
        this.clock = clock;
        this.registry = registry;
        this.backoff = new ClientsBackoff(clock);
        registry.gauge(MeterNames.FENCED_STANDBY, standingBy);
    }

    /**
     * The consumer loop failed with {@code e}: logs it and returns how long to wait before
     * recreating the clients (standing by when another instance fenced this one).
     */
    long pauseAfter(RuntimeException e) {
        byGroup = false;
        if (StaticMembership.fencedBy(e)) {
            byGroup = true;
            return fenced("group.instance.id", "another instance joined group " + new NodeRouting(settings.nodeId())
                    .groupId() + " with group.instance.id " + StaticMembership.instanceId(settings).orElse("?"),
                    "instances meant to run side by side need their own --group-instance-id, or none", e);
        }
        if (settings.exactlyOnce() && settings.assignment() == Assignment.NODE_PARTITION && isProducerFenced(e)) {
            return fenced("transactional.id", "another instance uses transactional.id " + transactionalId
                    + " (node-partition, exactly-once)", "this mode allows one instance per node", e);
        }
        lastFailure = e.toString();
        failedInARow++;
        Counter.builder(MeterNames.CLIENTS_RECREATED).register(registry).increment();
        return backoff.pauseAfter(e, failedInARow);
    }

    /** The consumer loop is about to make its Kafka clients (again). */
    void clientsCreated() {
        backoff.clientsCreated();
    }

    /**
     * The consumer loop ran a poll round with these clients, which read {@code records}: the
     * failures in a row are over (for readiness); the back-off ends only after a minute's run
     * ({@link ClientsBackoff}).
     */
    void polled(int records) {
        if (failedInARow != 0) {
            failedInARow = 0;
        }
    }

    static boolean isProducerFenced(Throwable e) {
        for (Throwable t = e; t != null && t.getCause() != t; t = t.getCause()) {
            if (t instanceof ProducerFencedException) {
                return true;
            }
        }
        return false;
    }

    /** This instance was fenced: the pause to stand by for, in milliseconds. */
    private long fenced(String by, String what, String hint, RuntimeException e) {
        Instant now = clock.instant();
        if (inARow > 0 && Duration.between(lastFenced, now).compareTo(MAX_PAUSE.multipliedBy(2)) > 0) {
            inARow = 0;
        }
        lastFenced = now;
        long pause = Math.min(MAX_PAUSE.toMillis(), FIRST_PAUSE.toMillis() << Math.min(inARow, 6));
        inARow++;
        why = "fenced: " + what;
        until = now.plusMillis(pause);
        standingBy.set(1);
        Counter.builder(MeterNames.FENCED).tag("by", by).register(registry).increment();
        LOG.warn("{}; that instance now does this node's work. This one stands by for {} s (not ready), then joins "
                + "again: it takes over if the other is gone, else fences it in turn ({}): {}", why, pause / 1000, hint,
                e.toString());
        return pause;
    }

    /**
     * Waits out {@code pauseMs} (beating {@code beat} every 100 ms) unless {@code stopping} says
     * stop; after a fence of the static membership, every {@link #CHECK_EVERY} it asks
     * {@code memberPresent} whether the group still has this instance id's other member (empty: the
     * broker did not say) and ends the wait once it has none.
     */
    void standBy(long pauseMs, java.util.function.BooleanSupplier stopping, Runnable beat,
            java.util.function.Supplier<Optional<Boolean>> memberPresent) throws InterruptedException {
        long start = System.nanoTime();
        long nextCheck = start + CHECK_EVERY.toNanos();
        while (!stopping.getAsBoolean() && System.nanoTime() - start < pauseMs * 1_000_000) {
            beat.run();
            if (byGroup && standingBy() && System.nanoTime() - nextCheck >= 0) {
                if (memberPresent.get().filter(present -> !present).isPresent()) {
                    LOG.info("the instance that fenced this one is no longer a member of its group: joining again now");
                    return;
                }
                nextCheck = System.nanoTime() + CHECK_EVERY.toNanos();
            }
            Thread.sleep(100);
        }
    }

    /** The pause is over: the clients are recreated. */
    void resume() {
        why = null;
        standingBy.set(0);
    }

    /** Whether this instance stands by after another instance of its node fenced it. */
    boolean standingBy() {
        return standingBy.get() == 1;
    }

    /** Why this instance is standing by, and for how much longer, if it is. */
    Optional<String> reason() {
        String w = why;
        Instant u = until;
        if (w == null || u == null) {
            int failed = failedInARow;
            return failed < FAILURES_NOT_READY ? Optional.empty() : Optional.of("the Kafka clients failed " + failed
                    + " times in a row, recreated after each without a poll round between; the last: " + lastFailure);
        }
        long left = Math.max(0, Duration.between(clock.instant(), u).toSeconds());
        return Optional.of(w + "; standing by, joining again in " + left + " s");
    }
}
