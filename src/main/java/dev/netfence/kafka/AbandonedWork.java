package dev.netfence.kafka;

/**
 * An event's work given up because the pipeline stops, not because it failed: its worker was
 * interrupted (the workers' shutdown interrupts what still runs after the drain: an
 * {@link InterruptedException}, or an exception caused by one, e.g. a container lock waited for
 * interruptibly), or the workers were already shut down when it failed (the sink is closed: no
 * outcome could be sent). Such work is abandoned like what the {@link ShutdownDrain} leaves
 * unfinished: no fail-closed quarantine (the container may be healthy and enforced), no outcome,
 * and the record stays uncommitted, so the next owner (or the restarted instance) redoes it.
 * Thrown on the worker to fail the event's stage; {@link RecordDispatcher} logs nothing more.
 */
final class AbandonedWork extends RuntimeException {
    private static final long serialVersionUID = 1L;

    AbandonedWork(String message, Throwable cause) {
        super(message, cause, false, false);
    }

    /**
     * Whether {@code failure} on the current thread means the work is abandoned rather than failed:
     * the thread is interrupted, an interruption is in the failure's causes, or {@code stopped}
     * says the workers were shut down.
     */
    static boolean abandons(Throwable failure, boolean stopped) {
        return stopped || Thread.currentThread().isInterrupted() || interruption(failure);
    }

    /** An interruption among {@code failure} and its causes. */
    static boolean interruption(Throwable failure) {
        int depth = 0;
        for (Throwable t = failure; t != null && depth++ < 32; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof InterruptedException || t instanceof java.io.InterruptedIOException
                    && !(t instanceof java.net.SocketTimeoutException) // a timeout, not an interruption
                    || t instanceof java.nio.channels.ClosedByInterruptException
                    || t instanceof org.apache.kafka.common.errors.InterruptException) {
                return true;
            }
        }
        return false;
    }
}
