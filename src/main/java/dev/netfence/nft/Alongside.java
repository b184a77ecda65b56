package dev.netfence.nft;

import java.util.Objects;

/**
 * Work of the caller's own that it runs while its trip into a namespace is under way
 * ({@link NamespaceThreads#run(int, java.nio.file.Path, dev.netfence.netns.NamespaceId,
 * java.time.Instant, NamespaceThreads.Trip, Runnable)}), with what it throws held until the trip
 * is over: the caller must wait for the trip whatever happens (its pin has to outlive the namespace
 * thread's {@code setns}), so a failure here may not leave early. {@link #rethrow} throws it as it
 * was, after the trip's outcome is recorded; {@link #suppressIn} attaches it to the trip's own
 * failure, which goes first. Used by one caller thread at a time.
 */
final class Alongside implements Runnable {
    private final Runnable work;
    private Throwable failure;

    Alongside(Runnable work) {
        this.work = Objects.requireNonNull(work, "work");
    }

    @Override
    public void run() {
        try {
            work.run();
        } catch (Throwable t) { // held, see the class comment
            failure = t;
        }
    }

    /** Attaches what the work threw (if anything) to {@code primary} as suppressed; returns {@code primary}. */
    <T extends Throwable> T suppressIn(T primary) {
        if (failure != null && failure != primary) {
            primary.addSuppressed(failure);
        }
        return primary;
    }

    /** Throws what the work threw, as it was; nothing when it completed. */
    void rethrow() {
        if (failure instanceof RuntimeException e) {
            throw e;
        }
        if (failure instanceof Error e) {
            throw e;
        }
    }
}
