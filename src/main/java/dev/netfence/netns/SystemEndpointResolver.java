package dev.netfence.netns;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The default {@link EndpointResolver}: the host's resolver ({@link InetAddress#getAllByName})
 * run on a bounded pool so a hanging lookup costs a thread for a while but never blocks the
 * caller past its timeout, and a flood of hanging lookups is refused instead of piling up
 * threads. A name already being looked up is not looked up again: every caller asking for it
 * meanwhile waits (each with its own timeout) for the lookup in flight. So a name in a slow DNS
 * zone, named by a policy whose containers start together or are re-resolved at every resync,
 * holds one thread at a time, not one per container (glibc's lookup cannot be interrupted, so a
 * timed-out one keeps its thread until the resolver gives up), and other policies' lookups still
 * find threads. Addresses come back IPv4 first, each family sorted, so the rendered rules (and
 * their digest) do not change with the resolver's round-robin order; and with the addresses the
 * name resolved to in the last minutes ({@link RecentAnswers}: 5 min, at most 64 per name), so a
 * resolver that rotates its answers does not rewrite the rules at every resync.
 */
public final class SystemEndpointResolver implements EndpointResolver, AutoCloseable {
    /** A lookup: the host's resolver in production. */
    interface Lookup {
        InetAddress[] all(String hostname) throws UnknownHostException;
    }

    private final ThreadPoolExecutor pool;
    private final Lookup lookup;
    private final Map<String, CompletableFuture<InetAddress[]>> inFlight = new ConcurrentHashMap<>();
    private final RecentAnswers recent;

    /** A resolver with at most {@code threads} lookups in flight and as many queued, keeping answers on {@code clock}. */
    public SystemEndpointResolver(int threads, Clock clock) {
        this(threads, InetAddress::getAllByName, new RecentAnswers(clock, RecentAnswers.WINDOW, RecentAnswers.CAP));
    }

    SystemEndpointResolver(int threads, Lookup lookup, RecentAnswers recent) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, was: " + threads);
        }
        this.lookup = lookup;
        this.recent = Objects.requireNonNull(recent, "recent");
        this.pool = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(threads), runnable -> {
                    Thread thread = new Thread(runnable, "netfence-resolver");
                    thread.setDaemon(true);
                    return thread;
                });
        pool.allowCoreThreadTimeOut(true);
    }

    /** 16 lookups of distinct names in flight, 16 queued, answers kept on {@code clock}. */
    public SystemEndpointResolver(Clock clock) {
        this(16, clock);
    }

    /** As {@link #SystemEndpointResolver(Clock)} on the system clock. */
    public SystemEndpointResolver() {
        this(Clock.systemUTC());
    }

    @Override
    public List<InetAddress> resolve(String hostname, Duration timeout) {
        CompletableFuture<InetAddress[]> pending;
        try {
            pending = inFlight.computeIfAbsent(hostname, this::start);
        } catch (RejectedExecutionException e) {
            throw new EnforcementException(ErrorCode.RESOLUTION_FAILED,
                    "too many hostname lookups in flight, could not resolve " + hostname, e);
        }
        try {
            InetAddress[] found = pending.get(Math.max(1, timeout.toMillis()), TimeUnit.MILLISECONDS);
            return recent.add(hostname, Arrays.asList(found));
        } catch (TimeoutException e) {
            throw new EnforcementException(ErrorCode.RESOLUTION_FAILED,
                    "resolving " + hostname + " took longer than " + timeout.toMillis() + " ms", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            String why = cause instanceof UnknownHostException ? "unknown host" : String.valueOf(cause);
            throw new EnforcementException(ErrorCode.RESOLUTION_FAILED,
                    "could not resolve " + hostname + ": " + why, cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EnforcementException(ErrorCode.RESOLUTION_FAILED, "interrupted resolving " + hostname, e);
        }
    }

    /** Starts the one lookup of {@code hostname}; it leaves {@link #inFlight} when it ends, however it ends. */
    private CompletableFuture<InetAddress[]> start(String hostname) {
        CompletableFuture<InetAddress[]> result = new CompletableFuture<>();
        pool.execute(() -> {
            try {
                result.complete(lookup.all(hostname));
            } catch (Throwable t) {
                result.completeExceptionally(t);
            } finally {
                inFlight.remove(hostname, result);
            }
        });
        return result;
    }

    /** Lookups in flight (for tests). */
    int inFlight() {
        return inFlight.size();
    }

    /** IPv4 before IPv6, each sorted by bytes, duplicates removed. */
    static List<InetAddress> ordered(List<InetAddress> addresses) {
        List<InetAddress> sorted = new ArrayList<>(new LinkedHashSet<>(addresses));
        sorted.sort(Comparator.<InetAddress>comparingInt(a -> a.getAddress().length)
                .thenComparing(a -> a.getAddress(), Arrays::compareUnsigned));
        return List.copyOf(sorted);
    }

    /** Stops the pool; every lookup still waited for ends as failed (one dropped from the queue would never end). */
    @Override
    public void close() {
        pool.shutdownNow();
        inFlight.forEach((name, pending) -> pending.completeExceptionally(
                new UnknownHostException(name + ": the resolver was closed")));
        inFlight.clear();
    }
}
