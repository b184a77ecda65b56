package dev.netfence.netns;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The default {@link EndpointResolver}: the host's resolver ({@link InetAddress#getAllByName})
 * run on a small bounded pool so a hanging lookup costs a thread for a while but never blocks
 * the caller past its timeout, and a flood of hanging lookups is refused instead of piling up
 * threads. Addresses come back IPv4 first, each family sorted, so the rendered rules (and their
 * digest) do not change with the resolver's round-robin order.
 */
public final class SystemEndpointResolver implements EndpointResolver, AutoCloseable {
    private final ExecutorService pool;

    /** A resolver with at most {@code threads} lookups in flight and as many queued. */
    public SystemEndpointResolver(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, was: " + threads);
        }
        this.pool = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(threads), runnable -> {
                    Thread thread = new Thread(runnable, "netfence-resolver");
                    thread.setDaemon(true);
                    return thread;
                });
        ((ThreadPoolExecutor) pool).allowCoreThreadTimeOut(true);
    }

    public SystemEndpointResolver() {
        this(4);
    }

    @Override
    public List<InetAddress> resolve(String hostname, Duration timeout) {
        Future<InetAddress[]> lookup;
        try {
            lookup = pool.submit(() -> InetAddress.getAllByName(hostname));
        } catch (RejectedExecutionException e) {
            throw new EnforcementException(ErrorCode.RESOLUTION_FAILED,
                    "too many hostname lookups in flight, could not resolve " + hostname, e);
        }
        try {
            InetAddress[] found = lookup.get(Math.max(1, timeout.toMillis()), TimeUnit.MILLISECONDS);
            return ordered(Arrays.asList(found));
        } catch (TimeoutException e) {
            lookup.cancel(true);
            throw new EnforcementException(ErrorCode.RESOLUTION_FAILED,
                    "resolving " + hostname + " took longer than " + timeout.toMillis() + " ms", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            String why = cause instanceof UnknownHostException ? "unknown host" : String.valueOf(cause);
            throw new EnforcementException(ErrorCode.RESOLUTION_FAILED,
                    "could not resolve " + hostname + ": " + why, cause);
        } catch (InterruptedException e) {
            lookup.cancel(true);
            Thread.currentThread().interrupt();
            throw new EnforcementException(ErrorCode.RESOLUTION_FAILED, "interrupted resolving " + hostname, e);
        }
    }

    /** IPv4 before IPv6, each sorted by bytes, duplicates removed. */
    static List<InetAddress> ordered(List<InetAddress> addresses) {
        List<InetAddress> sorted = new ArrayList<>(new LinkedHashSet<>(addresses));
        sorted.sort(Comparator.<InetAddress>comparingInt(a -> a.getAddress().length)
                .thenComparing(a -> a.getAddress(), Arrays::compareUnsigned));
        return List.copyOf(sorted);
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
