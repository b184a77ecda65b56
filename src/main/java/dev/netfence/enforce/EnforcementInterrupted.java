package dev.netfence.enforce;

/**
 * Thrown instead of a result when the enforcing thread was interrupted: netfence stops, and its
 * shutdown interrupts the work still running after the drain. Such work is given up, not failed:
 * nothing is quarantined (the container may be healthy and enforced; a quarantine written then
 * would cut it off with no outcome to say so), and the caller leaves the event for the next owner
 * to redo. Its cause is an {@link InterruptedException}, which the pipeline's abandoned-work check
 * looks for among a failure's causes; the thread's interrupt flag stays set.
 */
public final class EnforcementInterrupted extends RuntimeException {
    private static final long serialVersionUID = 1L;

    EnforcementInterrupted(String containerId, Throwable failure) {
        super("enforcing container " + containerId + " was interrupted (netfence stops): given up, nothing"
                + " quarantined", interruption(failure));
    }

    private static InterruptedException interruption(Throwable failure) {
        InterruptedException e = new InterruptedException(String.valueOf(failure));
        e.initCause(failure);
        return e;
    }
}
