package dev.netfence.reconcile;

/**
 * A correction in the {@link Reconciler}'s pool queue: policy updates and urgent checks (priority
 * 0) run before a resync's checks (1), and corrections of one priority in the order they were
 * queued ({@code seq}), so a resync of thousands of containers never delays a policy change.
 */
record QueuedCorrection(int priority, long seq, Runnable body) implements Runnable, Comparable<QueuedCorrection> {
    @Override
    public void run() {
        body.run();
    }

    @Override
    public int compareTo(QueuedCorrection o) {
        return priority != o.priority ? Integer.compare(priority, o.priority) : Long.compare(seq, o.seq);
    }
}
