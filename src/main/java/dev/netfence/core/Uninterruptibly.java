package dev.netfence.core;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/**
 * Waits for a future however long it takes, whatever interrupts the waiting thread meanwhile,
 * and sets the thread's interrupt status again before returning. For work that must not be left
 * running behind its caller: a trip into a container's namespace, a host-guard write.
 */
public final class Uninterruptibly {
    private Uninterruptibly() {}

    /** {@code future}'s value; its failure as {@link ExecutionException}. */
    public static <T> T get(Future<T> future) throws ExecutionException {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return future.get();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
