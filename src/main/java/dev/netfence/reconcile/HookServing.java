package dev.netfence.reconcile;

import dev.netfence.core.MeterNames;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves the OCI hook on its socket for as long as this netfence runs, also when the socket is
 * taken at start: in a rolling update the old instance still serves it while the new one starts,
 * and once the old one leaves nobody would, so every hooked container start would be refused
 * (or quarantined by the hook itself) while this instance ran. A daemon thread looks every
 * {@code retry}: a start that failed is tried again, and a socket file that is no longer the one
 * this instance bound (removed, or replaced by another instance's) is given up and taken again
 * once free, until this is closed; {@link #serving()} says whether the socket is served now.
 * While this instance {@linkplain #standingBy stands by} (fenced by another instance of its node)
 * it gives the socket up and does not take it again: the instance that enforces the node serves
 * the hook, so a fence made here is not left to an instance whose corrections are paused (the
 * container would stay fenced, loopback only, until something read the journal).
 */
public final class HookServing implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(HookServing.class);

    private final Path socket;
    private final Function<HookServer.Request, HookServer.Answer> handler;
    private final Duration retry;
    private final Object lock = new Object();
    private HookServer server;
    private Thread watcher;
    private boolean closed;
    private boolean standingBy;

    private HookServing(Path socket, Function<HookServer.Request, HookServer.Answer> handler, Duration retry) {
        this.socket = Objects.requireNonNull(socket, "socket");
        this.handler = Objects.requireNonNull(handler, "handler");
        this.retry = Objects.requireNonNull(retry, "retry");
        if (retry.isNegative() || retry.isZero()) {
            throw new IllegalArgumentException("retry must be positive, was: " + retry);
        }
    }

    /** Serves {@code socket} now, or keeps trying every {@code retry} until it can. */
    public static HookServing start(Path socket, Function<HookServer.Request, HookServer.Answer> handler,
            Duration retry) {
        return start(socket, handler, retry, null);
    }

    /** As {@link #start(Path, Function, Duration)}, with the {@link MeterNames#HOOK_SERVING} gauge in {@code registry}. */
    public static HookServing start(Path socket, Function<HookServer.Request, HookServer.Answer> handler,
            Duration retry, MeterRegistry registry) {
        return start(socket, handler, retry, registry, false);
    }

    /** As {@link #start(Path, Function, Duration, MeterRegistry)}; {@code standingBy}: the socket is not taken until {@link #standingBy} says false. */
    public static HookServing start(Path socket, Function<HookServer.Request, HookServer.Answer> handler,
            Duration retry, MeterRegistry registry, boolean standingBy) {
        HookServing s = new HookServing(socket, handler, retry);
        s.standingBy = standingBy;
        if (registry != null) {
            Gauge.builder(MeterNames.HOOK_SERVING, s, h -> h.serving() ? 1 : 0)
                    .description("1 while this instance serves the OCI hook's socket").register(registry);
        }
        s.tryStart(true);
        Thread t = new Thread(s::watch, "netfence-hook-watch");
        t.setDaemon(true);
        synchronized (s.lock) {
            s.watcher = t;
        }
        t.start();
        return s;
    }

    /** Whether the hook's socket is served by this instance now. */
    public boolean serving() {
        synchronized (lock) {
            return server != null;
        }
    }

    /** This instance stands by ({@code true}: the socket is given up now) or joined again (taken again once free). */
    public void standingBy(boolean on) {
        HookServer given;
        synchronized (lock) {
            standingBy = on;
            given = on ? server : null;
            if (on) {
                server = null;
            }
        }
        if (given != null) {
            LOG.info("standing by: the OCI hook socket {} is given up to the instance that enforces the node", socket);
            given.close(); // removes the socket file, its own
        }
    }

    private boolean tryStart(boolean first) {
        synchronized (lock) {
            if (closed || standingBy) {
                return true;
            }
            try {
                server = HookServer.start(socket, handler);
                if (!first) {
                    LOG.info("the OCI hook is served on {} now", socket);
                }
                return true;
            } catch (RuntimeException e) {
                if (first) {
                    LOG.error("the OCI hook is not served ({}); hooked container starts are refused or quarantined by "
                            + "the hook itself until it is: trying again every {} ms", e.getMessage(), retry.toMillis());
                }
                return false;
            }
        }
    }

    private void watch() {
        try {
            while (true) {
                Thread.sleep(retry.toMillis());
                HookServer lost = null;
                synchronized (lock) {
                    if (closed) {
                        return;
                    }
                    if (server != null && !server.stillBound()) {
                        lost = server;
                        server = null;
                    }
                }
                if (lost != null) {
                    LOG.warn("the OCI hook socket {} is no longer the one this netfence bound (removed, or another "
                            + "instance's): serving it again once it is free", socket);
                    lost.close(); // removes nothing that is not its own
                }
                if (!serving()) {
                    tryStart(false);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        Thread t;
        HookServer s;
        synchronized (lock) {
            closed = true;
            t = watcher;
            s = server;
            server = null;
        }
        if (t != null) {
            t.interrupt();
        }
        if (s != null) {
            s.close();
        }
    }
}
