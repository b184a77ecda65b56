package dev.netfence.netns;

import com.sun.jna.Pointer;
import java.util.ArrayDeque;
import java.util.function.Consumer;

/**
 * libnftables contexts whose free could not have its turn at the interface cache
 * ({@link CacheTurns}: a listing held the exclusive turn past the busy wait), kept to be freed
 * later on a closer thread ({@link DirectLibNftables#freeLate}) instead of being left. A context
 * waiting here keeps its netlink socket open, and with it the socket's namespace (its free closes
 * it: closing the number earlier would let the late free close whatever reused it), so at most
 * {@code limit} wait; past that {@link #defer} refuses and the caller leaves the context's memory
 * and closes its socket, as before this class. They wait until a closer finds a turn free after
 * a later trip: in a process that makes no more trips, for good. Thread-safe.
 */
final class LateFrees {
    private final int limit;
    private final ArrayDeque<Pointer> waiting = new ArrayDeque<>(); // guarded by this

    LateFrees(int limit) {
        if (limit < 0) {
            throw new IllegalArgumentException("limit must be at least 0, was: " + limit);
        }
        this.limit = limit;
    }

    /** Keeps {@code ctx} to be freed later; false when {@code limit} contexts wait already. */
    synchronized boolean defer(Pointer ctx) {
        if (waiting.size() >= limit) {
            return false;
        }
        waiting.add(java.util.Objects.requireNonNull(ctx, "ctx"));
        return true;
    }

    /** Frees every waiting context with {@code free}, oldest first; to be called while the caller holds a turn. */
    void drain(Consumer<Pointer> free) {
        while (true) {
            Pointer ctx;
            synchronized (this) {
                ctx = waiting.poll();
            }
            if (ctx == null) {
                return;
            }
            free.accept(ctx);
        }
    }

    /** How many contexts wait. */
    synchronized int waiting() {
        return waiting.size();
    }
}
