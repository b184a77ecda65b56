package dev.netfence.reconcile;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The live-set entry's mark of a reconciler outcome not acknowledged
 * ({@link LiveContainer#outcomeUnacknowledged}), so that the promise to publish the state of a
 * container whose outcome did not get out anew survives a restart: the journal must not claim as
 * reported what the outcomes topic never acknowledged (review 200 #2: a policy update applied, its
 * outcome refused, and after a restart the topic kept showing the old policy for good, the journal
 * saying the new one was reported). {@link CorrectionRecords} puts the mark with the state the
 * outcome reports (queued to the journal's writer) before the outcome is handed to the publisher;
 * once every outcome of the container sent since is acknowledged ({@link #settled}, told by the
 * {@link OutcomeOrder} of that very send), the mark is written away on a thread of its own under the
 * container's lock (waiting at most {@link #LOCK_WAIT} for it; else the container's next correction
 * does it, {@link #current}), never while this instance stands by. A correction that reads the
 * container back and finds the mark where this instance knows nothing of its outcomes (the entry
 * was read back from the journal: a restart, a take-over), or finds its last outcome failed,
 * publishes its state anew ({@link #sayAgain}). An outcome acknowledged just before a crash, its
 * mark not written away yet, is said again after the restart: at least once, as every outcome.
 * Thread-safe.
 */
final class OutcomeMarks implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OutcomeMarks.class);
    /** The longest the clearing thread waits for a container's lock (a correction running) before leaving it. */
    static final Duration LOCK_WAIT = Duration.ofSeconds(1);
    /** How long {@link #close} lets the marks already due be written away. */
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(2);

    private final LiveSet live;
    private final ContainerLocks locks;
    private final UnsentOutcomes unsent;
    /** Whether this instance stands by, or joined again and has not read the journal yet ({@link StandbyGate}). */
    private final BooleanSupplier waiting;
    private final ExecutorService clearing = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "netfence-outcome-marks");
        t.setDaemon(true);
        return t;
    });

    /** {@code waiting}: while it says so, no mark is written away ({@link StandbyGate#waiting}). */
    OutcomeMarks(LiveSet live, ContainerLocks locks, UnsentOutcomes unsent, BooleanSupplier waiting) {
        this.live = Objects.requireNonNull(live, "live");
        this.locks = Objects.requireNonNull(locks, "locks");
        this.unsent = Objects.requireNonNull(unsent, "unsent");
        this.waiting = Objects.requireNonNull(waiting, "waiting");
    }

    /**
     * An outcome of {@code containerId} is about to be sent (caller holds its lock, its mark
     * journaled); its ticket, for {@link #settled}.
     */
    long sending(String containerId) {
        return unsent.sending(containerId);
    }

    /**
     * The outcome of {@code containerId} that {@link #sending} gave {@code ticket} settled,
     * {@code published} or not (the outcome order's report of that very send; any thread).
     */
    void settled(String containerId, long ticket, boolean published) {
        if (unsent.settled(containerId, ticket, published)) {
            try {
                clearing.execute(() -> clear(containerId));
            } catch (RejectedExecutionException closed) {
                // closing: the mark stays, and the state is said again after the restart
            }
        }
    }

    /**
     * Under {@code c}'s lock: {@code c}, or, when every outcome of it sent here is acknowledged, the
     * entry without its mark (journaled). Every correction starts with it, so that none publishes
     * anew what is acknowledged, and none carries a mark forward that is due to go.
     */
    LiveContainer current(LiveContainer c) {
        if (unsent.takeAcknowledged(c.containerId()) && c.outcomeUnacknowledged()) {
            LiveContainer cleared = c.unacknowledged(false);
            live.put(cleared);
            return cleared;
        }
        return c;
    }

    /**
     * Whether {@code c}'s state is to be published anew (caller holds its lock; it publishes): its
     * last outcome failed here, or its entry carries the mark and this instance sent nothing of it
     * (read back so from the journal). Not while one is on its way: that one settles the mark. One
     * WARN line says which of the two it is (review 203 #7: a republish after a restart logged two,
     * one of them saying the outcome was not published, which this instance did not know).
     */
    boolean sayAgain(LiveContainer c) {
        if (unsent.takeBack(c.containerId())) {
            LOG.warn("container {}: its last outcome was not published (its send failed); its state is published anew",
                    c.containerId());
            return true;
        }
        if (c.outcomeUnacknowledged() && unsent.nothingKnown(c.containerId())) {
            LOG.warn("container {}: its entry, read back from the journal (a restart or a take-over), says an outcome"
                    + " of its state was not acknowledged; its state is published anew", c.containerId());
            return true;
        }
        return false;
    }

    /**
     * The container is released, or its entry was taken from the journal (another instance's, a
     * take-over): nothing of it to say again or to clear here, and a mark its entry carries now was
     * read back so.
     */
    void forget(String containerId) {
        unsent.forget(containerId);
    }

    private void clear(String containerId) {
        ReentrantLock lock = locks.of(containerId);
        try {
            if (!lock.tryLock(LOCK_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                return; // a correction holds it: the container's next correction clears the mark (current)
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        try {
            if (waiting.getAsBoolean()) {
                // standing by: what this instance knows may be stale (another instance may have recorded the container
                // anew), so it writes no entry; the mark stays, at worst an outcome said twice (review 203 #1)
                return;
            }
            LiveContainer c = live.get(containerId).orElse(null);
            if (c == null) {
                unsent.takeAcknowledged(containerId); // released meanwhile: nothing to clear, nothing kept of it
            } else {
                current(c);
            }
        } catch (RuntimeException e) {
            LOG.error("clearing the unacknowledged-outcome mark of container {} failed", containerId, e);
        } finally {
            lock.unlock();
        }
    }

    /** Lets the marks already due be written away (briefly), then clears no more. */
    @Override
    public void close() {
        clearing.shutdown();
        try {
            clearing.awaitTermination(CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
