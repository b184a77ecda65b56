package dev.netfence.enforce;

import dev.netfence.hostguard.HostGuardMode;
import dev.netfence.hostguard.HostGuards;
import dev.netfence.rules.PlannedRules;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The host guard of one apply, written while the in-namespace rules are: the two writes are
 * independent (the host table in netfence's namespace, netfence's table in the container's; each
 * is one transaction of its own), and each is mostly CPU, so on a machine with a second core an
 * apply takes about the longer of the two instead of their sum. The CPU spent is the same. The
 * apply still reports nothing before both are done: {@link #await} returns the guard's result or
 * throws its failure, and when the in-namespace write fails, {@link #awaitQuietly} waits for the
 * guard before that failure goes on to the quarantine, so a guard write of the policy can never
 * land after (and undo) the quarantine's. One difference from writing the guard after: when the
 * in-namespace write fails and nothing is quarantined ({@code on-failure=leave}, nothing touched),
 * the guard may already hold the new policy; what the container can reach is then what both
 * layers allow, never more than before, and the outcome is failed. The guard's threads are started by the apply's own
 * thread, which is in netfence's (the host's) namespace and never enters another, so they are in
 * it too, as the guard requires; with the guard off nothing is started and the result is
 * immediate.
 */
final class ConcurrentGuard {
    private static final AtomicInteger THREADS = new AtomicInteger();
    private static final ExecutorService POOL = Executors.newCachedThreadPool(task -> {
        Thread t = new Thread(task, "netfence-hostguard-" + THREADS.incrementAndGet());
        t.setDaemon(true);
        return t;
    });

    private final CompletableFuture<HostGuards.Result> result;

    private ConcurrentGuard(CompletableFuture<HostGuards.Result> result) {
        this.result = result;
    }

    /** Starts {@link HostGuards#apply} for the container; with the guard off, runs it here (it does nothing). */
    static ConcurrentGuard start(HostGuards guards, String owner, Path nsFile, PlannedRules plan) {
        if (guards.mode() == HostGuardMode.OFF) {
            return new ConcurrentGuard(CompletableFuture.completedFuture(guards.apply(owner, nsFile, plan)));
        }
        return new ConcurrentGuard(CompletableFuture.supplyAsync(() -> guards.apply(owner, nsFile, plan), POOL));
    }

    /** The guard's result, once written; its failure (an EnforcementException, usually) is thrown as it was. */
    HostGuards.Result await() {
        try {
            return waitFor();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException("host guard failed", cause);
        }
    }

    /** Waits until the guard is done, after {@code failure} of the in-namespace write; its own failure is added to it. */
    void awaitQuietly(Throwable failure) {
        try {
            waitFor();
        } catch (ExecutionException e) {
            failure.addSuppressed(e.getCause());
        }
    }

    /** Waits uninterruptibly (an interrupted apply must still not leave a guard write running behind it). */
    private HostGuards.Result waitFor() throws ExecutionException {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return result.get();
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (CompletionException e) {
                    throw new ExecutionException(e.getCause());
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
