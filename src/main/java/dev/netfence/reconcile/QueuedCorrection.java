package dev.netfence.reconcile;

/**
 * A correction in the {@link Reconciler}'s pool queue: policy updates and urgent checks (priority
 * 0) run before a resync's checks (1), and corrections of one priority in the order they were
 * queued ({@code seq}), so a resync of thousands of containers does not delay a policy change
 * (checks a resync left undone within its bound join the updates in turn; see
 * {@link Reconciler}). {@code skipped} is what to run when the correction will not run after all
 * (replaced by a later one of its kind while it waited): what its submitter waits for.
 */
record QueuedCorrection(int priority, long seq, Runnable body, Runnable skipped)
        implements Runnable, Comparable<QueuedCorrection> {
    @Override
    public void run() {
        body.run();
    }

    /** Tells the submitter this correction will not run. */
    void skip() {
        skipped.run();
    }

    /** The same correction queued again, behind what is queued now at its priority. */
    QueuedCorrection again(long seq) {
        return new QueuedCorrection(priority, seq, body, skipped);
    }

    @Override
    public int compareTo(QueuedCorrection o) {
        return priority != o.priority ? Integer.compare(priority, o.priority) : Long.compare(seq, o.seq);
    }
}
