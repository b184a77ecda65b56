package dev.netfence.enforce;

import dev.netfence.hostguard.HostGuardMode;
import dev.netfence.hostguard.HostGuards;
import dev.netfence.rules.PlannedRules;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

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
 * immediate. Only one guard at a time is written beside an apply: the host writes take turns
 * under one lock anyway, and when applies already run in parallel there is no idle core to win
 * (from 8 threads on 2 cores a guard thread per apply gave 179 applies/s against 221/s with each
 * guard written after its rules: bench, 5 repetitions each, loaded machine); any other apply writes its guard after its in-namespace rules, on its own thread,
 * as before, and then writes none when those fail (the quarantine does).
 */
final class ConcurrentGuard {
    private static final AtomicInteger THREADS = new AtomicInteger();
    private static final ExecutorService POOL = Executors.newCachedThreadPool(task -> {
        Thread t = new Thread(task, "netfence-hostguard-" + THREADS.incrementAndGet());
        t.setDaemon(true);
        return t;
    });

    /** The one guard written beside an apply at a time. */
    private static final Semaphore BESIDE = new Semaphore(1);

    /** The guard being written beside the apply, or null when it is written in {@link #await}. */
    private final CompletableFuture<HostGuards.Result> result;
    private final Supplier<HostGuards.Result> later;

    private ConcurrentGuard(CompletableFuture<HostGuards.Result> result, Supplier<HostGuards.Result> later) {
        this.result = result;
        this.later = later;
    }

    /**
     * Starts {@link HostGuards#apply} for the container on another thread, unless another guard is
     * being written so already (then {@link #await} writes it); with the guard off, runs it here
     * (it does nothing).
     */
    static ConcurrentGuard start(HostGuards guards, String owner, Path nsFile, PlannedRules plan) {
        if (guards.mode() == HostGuardMode.OFF) {
            return new ConcurrentGuard(CompletableFuture.completedFuture(guards.apply(owner, nsFile, plan)), null);
        }
        Supplier<HostGuards.Result> write = () -> guards.apply(owner, nsFile, plan);
        if (!BESIDE.tryAcquire()) {
            return new ConcurrentGuard(null, write);
        }
        try {
            CompletableFuture<HostGuards.Result> beside = CompletableFuture.supplyAsync(write, POOL);
            beside.whenComplete((r, e) -> BESIDE.release());
            return new ConcurrentGuard(beside, null);
        } catch (RuntimeException | Error e) {
            BESIDE.release();
            throw e;
        }
    }

    /** The guard's result, once written; its failure (an EnforcementException, usually) is thrown as it was. */
    HostGuards.Result await() {
        if (later != null) {
            return later.get();
        }
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
        if (later != null) {
            return; // never started
        }
        try {
            waitFor();
        } catch (ExecutionException e) {
            failure.addSuppressed(e.getCause());
        }
    }

    /** Waits uninterruptibly (an interrupted apply must still not leave a guard write running behind it). */
    private HostGuards.Result waitFor() throws ExecutionException {
        return dev.netfence.core.Uninterruptibly.get(result);
    }
}
