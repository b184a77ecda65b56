package dev.netfence.ops;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP side of a running netfence: {@code /metrics} (Prometheus text scraped from the
 * Micrometer registry), {@code /healthz} (liveness) and {@code /readyz} (readiness), served by
 * the JDK's {@link HttpServer} on four daemon threads so a slow scrape never touches the consumer
 * loop. A check that is down answers 503 with its reason as a one-line text body; a check that
 * throws counts as down. Only GET and HEAD are accepted; other paths answer 404. The JDK's server
 * reads a request on a handler thread and has no limits of its own, so a client that connects and
 * never finishes its request held a thread for good, and connections without end could take the
 * process's file descriptors (which netfence needs to pin namespaces); {@link #LIMITS} are set
 * before the first server is made, each only where the operator has not set it ({@code -D}): a
 * request must arrive within 5 s and its response be written within 30 s, an idle kept-alive
 * connection is closed after 5 s, and at most 256 connections are open at once (further ones are
 * closed at once). These are JVM-wide properties the JDK reads once.
 */
public final class MetricsServer implements AutoCloseable {

    /** Default port of {@code --http-port} (docs/contracts.md, "Command: run"). */
    public static final int DEFAULT_PORT = 9464;

    private static final Logger log = LoggerFactory.getLogger(MetricsServer.class);
    private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
    private static final String PLAIN_TEXT = "text/plain; charset=utf-8";

    /** The JDK server's limits netfence sets unless already set: property, value. */
    static final java.util.Map<String, String> LIMITS = java.util.Map.of(
            "sun.net.httpserver.maxReqTime", "5",
            "sun.net.httpserver.maxRspTime", "30",
            "sun.net.httpserver.idleInterval", "5",
            "jdk.httpserver.maxConnections", "256");

    /**
     * Connections the kernel completes before the server takes them: as many as it keeps open,
     * so that a burst (probes and scrapes at once, or a client holding many) is accepted and then
     * answered or closed, not left to SYN retries of seconds.
     */
    private static final int BACKLOG = 256;

    private final HttpServer server;
    private final ExecutorService executor;

    private MetricsServer(HttpServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    /**
     * Binds {@code address} (port 0 picks a free port) and starts serving.
     *
     * @throws UncheckedIOException when the port cannot be bound, with the address in the message
     */
    public static MetricsServer start(InetSocketAddress address, PrometheusMeterRegistry registry,
                                      HealthCheck liveness, HealthCheck readiness) {
        Objects.requireNonNull(registry, "registry");
        Objects.requireNonNull(liveness, "liveness");
        Objects.requireNonNull(readiness, "readiness");
        LIMITS.forEach((key, value) -> {
            if (System.getProperty(key) == null) {
                System.setProperty(key, value);
            }
        });
        HttpServer server;
        try {
            server = HttpServer.create(address, BACKLOG);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot bind the metrics/health port " + address + ": " + e.getMessage(), e);
        }
        AtomicInteger threads = new AtomicInteger();
        ExecutorService executor = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "netfence-http-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.createContext("/", exchange -> handle(exchange, () -> respond(exchange, 404, PLAIN_TEXT, "not found\n")));
        server.createContext("/metrics", exchange -> handle(exchange,
                () -> respond(exchange, 200, PROMETHEUS_TEXT, registry.scrape())));
        server.createContext("/healthz", exchange -> handle(exchange, () -> respondHealth(exchange, liveness)));
        server.createContext("/readyz", exchange -> handle(exchange, () -> respondHealth(exchange, readiness)));
        server.start();
        log.info("serving /metrics, /healthz and /readyz on {}", server.getAddress());
        return new MetricsServer(server, executor);
    }

    /** Starts on all interfaces at {@code port}. */
    public static MetricsServer start(int port, PrometheusMeterRegistry registry,
                                      HealthCheck liveness, HealthCheck readiness) {
        return start(new InetSocketAddress(port), registry, liveness, readiness);
    }

    /** Starts on {@code address} (all interfaces when null) at {@code port}. */
    public static MetricsServer start(java.net.InetAddress address, int port, PrometheusMeterRegistry registry,
                                      HealthCheck liveness, HealthCheck readiness) {
        return start(address == null ? new InetSocketAddress(port) : new InetSocketAddress(address, port), registry,
                liveness, readiness);
    }

    /** The bound address. */
    public InetSocketAddress address() {
        return server.getAddress();
    }

    /** The bound port (useful after binding port 0). */
    public int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }

    private interface Responder {
        void respond() throws IOException;
    }

    private static void handle(HttpExchange exchange, Responder responder) throws IOException {
        try {
            String method = exchange.getRequestMethod();
            if (!"GET".equals(method) && !"HEAD".equals(method)) {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                respond(exchange, 405, PLAIN_TEXT, "method not allowed\n");
                return;
            }
            responder.respond();
        } catch (IOException e) {
            log.debug("HTTP client went away: {}", e.toString());
        } catch (RuntimeException e) {
            log.warn("HTTP handler for {} failed", exchange.getRequestURI(), e);
        } finally {
            exchange.close();
        }
    }

    private static void respondHealth(HttpExchange exchange, HealthCheck check) throws IOException {
        HealthStatus status;
        try {
            status = check.check();
        } catch (RuntimeException e) {
            status = HealthStatus.down("check failed: " + e);
        }
        if (status == null) {
            status = HealthStatus.down("check returned no status");
        }
        respond(exchange, status.healthy() ? 200 : 503, PLAIN_TEXT, status.reason() + "\n");
    }

    private static void respond(HttpExchange exchange, int code, String contentType, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", contentType);
        boolean head = "HEAD".equals(exchange.getRequestMethod());
        exchange.sendResponseHeaders(code, head ? -1 : bytes.length);
        if (!head) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
    }
}
