package dev.netfence.reconcile;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the reconciler may resync and correct now: not while this instance stands by after
 * another instance of its node fenced it (what it knows may be stale: a container the other one
 * restarted under the same id would be released here, its journal entry and host guard with it),
 * nor after it joined again until a take-over read of the journal begun after joining has ended
 * ({@link TakeOver}; at once where nothing reads the journal again), for at most
 * {@link #AT_MOST} from the first assignment after joining (an instance that cannot join, its
 * credentials refused, say, while the other one enforces the node, never resumes on its own),
 * after which it runs {@code opened} once (a resync pass, so that what was held
 * back meanwhile is checked now, not one interval later). An epoch counts the changes of standing
 * by, so that a read begun before the last change ends nothing. Thread-safe.
 */
final class StandbyGate {
    private static final Logger LOG = LoggerFactory.getLogger(StandbyGate.class);
    /** How long, after joining again, corrections wait at most for the take-over read of the journal. */
    static final Duration AT_MOST = Duration.ofMinutes(5);

    private final Clock steady;
    private final boolean readsJournal;
    private final Runnable opened;
    private volatile boolean waiting;
    private boolean standing;
    private long epoch;
    private Instant joinedAt;

    /**
     * {@code readsJournal}: a take-over read follows each assignment; else joining again ends the
     * wait. {@code opened}: run when {@link #AT_MOST} ends a wait, on the thread that asked.
     */
    StandbyGate(Clock steady, boolean readsJournal, Runnable opened) {
        this.steady = Objects.requireNonNull(steady, "steady");
        this.readsJournal = readsJournal;
        this.opened = Objects.requireNonNull(opened, "opened");
    }

    /** This instance stands by ({@code true}) or joined again. */
    void standingBy(boolean on) {
        synchronized (this) {
            if (on == standing) {
                return;
            }
            standing = on;
            epoch++;
            joinedAt = null; // the bound counts from the first assignment after joining, see assigned()
            if (on || !readsJournal) {
                waiting = on;
            }
        }
        if (on) {
            LOG.info("standing by: no resync or correction here until this instance has joined again and read the"
                    + " journal");
        }
    }

    /** Partitions were assigned: the first assignment after joining again starts {@link #AT_MOST}. */
    synchronized void assigned() {
        if (waiting && !standing && joinedAt == null) {
            joinedAt = steady.instant();
        }
    }

    /** The epoch now, for a read that begins. */
    synchronized long epoch() {
        return epoch;
    }

    /** A read begun in epoch {@code began} has ended; whether that ended the wait. */
    boolean readEnded(long began) {
        synchronized (this) {
            if (!waiting || standing || began != epoch) {
                return false;
            }
            waiting = false;
        }
        LOG.info("the journal is read again after standing by: resyncs and corrections resume");
        return true;
    }

    /**
     * Why resyncs and corrections wait after this instance joined again ({@code /readyz}; helper 189
     * #2: for up to {@link #AT_MOST} no policy change reached a container while it answered ready),
     * or empty: also while it stands by, which the pipeline's reason names.
     */
    Optional<String> reason() {
        if (!waiting()) {
            return Optional.empty();
        }
        synchronized (this) {
            if (!waiting || standing) {
                return Optional.empty();
            }
            return Optional.of("joined again" + (joinedAt == null ? " (no partition assigned since)"
                    : " " + Duration.between(joinedAt, steady.instant()).toSeconds() + " s ago")
                    + ": no resync or correction until the journal is read again, at most "
                    + AT_MOST.toMinutes() + " min after the first assignment: policy changes reach no container meanwhile");
        }
    }

    /** Whether resyncs and corrections wait now (see the class comment). */
    boolean waiting() {
        if (!waiting) {
            return false;
        }
        synchronized (this) {
            if (!waiting || standing || joinedAt == null
                    || Duration.between(joinedAt, steady.instant()).compareTo(AT_MOST) <= 0) {
                return waiting;
            }
            waiting = false;
        }
        LOG.warn("joined again {} ago and the journal not read again: resyncs and corrections resume with what"
                + " this instance knows", AT_MOST);
        opened.run();
        return false;
    }
}
