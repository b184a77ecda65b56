package dev.netfence.reconcile;

import static dev.netfence.reconcile.HookSocketDirectory.requireTrustedPath;
import static dev.netfence.reconcile.HookSocketDirectory.requireUnsharedDirectory;
import static dev.netfence.reconcile.HookSocketDirectory.trusted;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.netfence.core.EnforcementResult;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running service's end of the OCI hook: a unix socket (mode 0600, so only root can ask for
 * a fence) on which {@code netfence hook} sends the container state an OCI runtime gave it on
 * stdin ({@code id}, {@code pid}, {@code annotations}) and gets one JSON line back:
 * {@code {"fenced":true,...}} once the namespace holds the quarantine, or
 * {@code {"fenced":false,"error":...}}. The hook then lets the runtime start the container, or
 * not. No JVM starts per container: the hook is a small script and the work is done here.
 * Requests larger than 64 KiB, not complete within {@link #REQUEST_TIME} (a hook that connects
 * and hangs would hold one of the four workers for good, and four such would stop every fence),
 * or not naming a valid id and pid are refused. The {@code netfence.runtime} annotation is
 * taken only when it names a runtime netfence knows ({@code podman}, {@code docker},
 * {@code containerd}, {@code crio}, as the event schema allows); any other value is ignored:
 * annotations are the container's creator's to write, and the value is kept in the live set.
 * Only netfence's own user (or root) is served: each connection's peer is checked with
 * {@code SO_PEERCRED} (the file's mode alone leaves the moment between bind and chmod, and any
 * later chmod, open), and a directory another user can write is refused at start (they could
 * put a socket of their own in its place, which a hook would ask instead; {@link HookSocketDirectory}).
 */
public final class HookServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(HookServer.class);
    private static final int MAX_REQUEST = 64 * 1024;
    private static final Pattern CONTAINER_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");
    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** How long a connection may take to send its whole request. */
    static final java.time.Duration REQUEST_TIME = java.time.Duration.ofSeconds(10);
    private static final java.util.Set<String> RUNTIMES = java.util.Set.of("podman", "docker", "containerd", "crio");

    /** What fencing one container came to. */
    public record Answer(boolean fenced, String message) {}

    /** The request as the hook sends it: the OCI state. */
    public record Request(String containerId, int pid, String runtime) {}

    private final Path socket;
    private final ServerSocketChannel server;
    private final Function<Request, Answer> handler;
    private final ExecutorService workers;
    private final Thread acceptor;
    private final java.time.Duration requestTime;
    /** The socket file this server bound (its file key), so that closing removes that file only. */
    private final Object boundFile;
    /** The users whose connections are served: netfence's own (the bound file's owner) and root. */
    private final java.util.Set<UserPrincipal> trusted;
    private volatile boolean closed;

    private HookServer(Path socket, ServerSocketChannel server, Function<Request, Answer> handler,
            java.time.Duration requestTime, Object boundFile, java.util.Set<UserPrincipal> trusted) {
        this.socket = socket;
        this.boundFile = boundFile;
        this.trusted = trusted;
        this.server = server;
        this.handler = handler;
        this.requestTime = requestTime;
        this.workers = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "netfence-hook");
            t.setDaemon(true);
            return t;
        });
        this.acceptor = new Thread(this::accept, "netfence-hook-accept");
        this.acceptor.setDaemon(true);
    }

    /** Binds {@code socket} (replacing a stale one), restricts it to its owner and starts serving. */
    public static HookServer start(Path socket, Function<Request, Answer> handler) {
        return start(socket, handler, REQUEST_TIME);
    }

    /** As {@link #start(Path, Function)}, with {@code requestTime} for a request to arrive whole. */
    static HookServer start(Path socket, Function<Request, Answer> handler, java.time.Duration requestTime) {
        try {
            Path dir = socket.toAbsolutePath().getParent();
            // the process's own user: the owner of its /proc/self
            UserPrincipal own = Files.getOwner(Path.of("/proc/self"));
            if (dir != null) { // made 0755 (not as the umask says), and checked before anything is written in it
                requireTrustedPath(dir, trusted(own)); // nothing is made through another user's component
                Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
                requireTrustedPath(dir, trusted(own));
                requireUnsharedDirectory(dir, own);
            }
            if (Files.exists(socket) && answers(socket)) {
                throw new IOException("another process (a second netfence?) already serves " + socket);
            }
            Files.deleteIfExists(socket);
            ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            HookServer s;
            try {
                server.bind(UnixDomainSocketAddress.of(socket));
                Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
                s = new HookServer(socket, server, handler, requestTime, fileKey(socket), trusted(own));
            } catch (IOException | RuntimeException e) { // a bound listener left behind would answer every later probe
                server.close();
                Files.deleteIfExists(socket);
                throw e;
            }
            s.acceptor.start();
            LOG.info("OCI hook requests served on {}", socket);
            return s;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot serve the OCI hook on " + socket + ": " + e.getMessage(), e);
        }
    }

    private static Object fileKey(Path socket) throws IOException {
        return Files.readAttributes(socket, java.nio.file.attribute.BasicFileAttributes.class,
                java.nio.file.LinkOption.NOFOLLOW_LINKS).fileKey();
    }

    /**
     * Whether something accepts connections on {@code socket} (a live server, not a stale file).
     * The connect does not block: a stuck server whose backlog is full would hold a blocking one
     * (and the start, and the shutdown waiting on it) for good; such a server counts as live.
     */
    private static boolean answers(Path socket) {
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.configureBlocking(false);
            probe.connect(UnixDomainSocketAddress.of(socket));
            return true;
        } catch (java.net.ConnectException | java.nio.file.NoSuchFileException e) {
            return false; // refused: nobody listens on that file
        } catch (IOException e) {
            String m = e.getMessage(); // a full backlog (EAGAIN) is a live server
            return m == null || !m.contains("No such file");
        }
    }

    /** Whether the socket path still names the file this server bound (another instance may have replaced it). */
    boolean stillBound() {
        try {
            return !closed && Files.exists(socket, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                    && boundFile.equals(fileKey(socket));
        } catch (IOException e) {
            return false;
        }
    }

    /** The fence handler for a reconciler: fenced when the quarantine is in force. */
    public static Function<Request, Answer> fencing(Reconciler reconciler) {
        return r -> {
            EnforcementResult result = reconciler.fence(r.containerId(), r.pid(), r.runtime());
            boolean fenced = result.quarantined() || EnforcementResult.APPLIED.equals(result.status());
            return new Answer(fenced, fenced ? result.status() : result.error() == null ? result.status()
                    : result.error().code() + ": " + result.error().message());
        };
    }

    public Path socket() {
        return socket;
    }

    private void accept() {
        while (!closed) {
            try {
                SocketChannel client = server.accept();
                try {
                    workers.execute(new Serve(client));
                } catch (java.util.concurrent.RejectedExecutionException closing) {
                    closeQuietly(client); // closing: the hook sees the end at once, not its timeout
                    return;
                }
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (!closed) {
                    LOG.warn("accepting a hook connection failed: {}", e.toString());
                }
            }
        }
    }

    /** One accepted connection waiting for a worker; closed unanswered when the server closes first. */
    private final class Serve implements Runnable {
        private final SocketChannel client;

        Serve(SocketChannel client) {
            this.client = client;
        }

        @Override
        public void run() {
            serve(client);
        }
    }

    private static void closeQuietly(SocketChannel client) {
        try {
            client.close();
        } catch (IOException e) {
            LOG.debug("closing a hook connection: {}", e.toString());
        }
    }

    private void serve(SocketChannel client) {
        try (client) {
            Answer answer;
            try {
                byte[] request = read(client, requestTime); // read first: closing with it unread would reset the answer
                UserPrincipal peer = client.getOption(jdk.net.ExtendedSocketOptions.SO_PEERCRED).user();
                if (!trusted.contains(peer)) {
                    LOG.warn("a hook connection from user {} refused: only netfence's user or root may ask for a fence",
                            peer.getName());
                    throw new IllegalArgumentException("the hook runs as user " + peer.getName()
                            + ", not as netfence's user or root");
                }
                answer = handler.apply(parse(request));
            } catch (IllegalArgumentException e) {
                answer = new Answer(false, "refused: " + e.getMessage());
            } catch (RuntimeException e) {
                LOG.error("hook request failed", e);
                answer = new Answer(false, "INTERNAL: " + e);
            }
            ObjectNode reply = MAPPER.createObjectNode();
            reply.put("fenced", answer.fenced());
            reply.put(answer.fenced() ? "status" : "error", answer.message());
            client.write(ByteBuffer.wrap((reply + "\n").getBytes(StandardCharsets.UTF_8)));
        } catch (IOException e) {
            LOG.warn("hook connection failed: {}", e.toString());
        }
    }

    /** The request, read until the hook shuts down its side; refused past {@link #MAX_REQUEST} bytes or {@code limit}. */
    private static byte[] read(SocketChannel client, java.time.Duration limit) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(MAX_REQUEST + 1);
        client.configureBlocking(false);
        try (java.nio.channels.Selector selector = java.nio.channels.Selector.open()) {
            client.register(selector, java.nio.channels.SelectionKey.OP_READ);
            long deadline = System.nanoTime() + limit.toNanos();
            while (buf.hasRemaining()) {
                if (Thread.currentThread().isInterrupted()) { // the server is closing: a select would return at once
                    throw new java.nio.channels.ClosedByInterruptException();
                }
                int n = client.read(buf);
                if (n < 0) {
                    break;
                }
                if (n == 0) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        throw new IllegalArgumentException("request not complete within " + limit.toMillis() + " ms");
                    }
                    selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                    selector.selectedKeys().clear();
                }
            }
        }
        client.configureBlocking(true); // the one-line answer is written whole
        if (!buf.hasRemaining()) {
            throw new IllegalArgumentException("request larger than " + MAX_REQUEST + " bytes");
        }
        buf.flip();
        byte[] bytes = new byte[buf.remaining()];
        buf.get(bytes);
        return bytes;
    }

    /** The OCI state: {@code id} (a container id) and {@code pid} (> 1); the runtime from an annotation if any. */
    static Request parse(byte[] state) {
        JsonNode n;
        try {
            n = MAPPER.readTree(state);
        } catch (IOException e) {
            throw new IllegalArgumentException("the container state is not JSON: " + e.getMessage());
        }
        if (n == null || !n.isObject()) {
            throw new IllegalArgumentException("the container state is not a JSON object");
        }
        String id = n.path("id").asText("");
        if (!CONTAINER_ID.matcher(id).matches()) {
            throw new IllegalArgumentException("the container state has no valid id: " + n.path("id"));
        }
        JsonNode pid = n.path("pid");
        if (!pid.isIntegralNumber() || pid.asLong() <= 1 || pid.asLong() > 4194304) {
            throw new IllegalArgumentException("the container state has no valid pid: " + pid);
        }
        String runtime = n.path("annotations").path("netfence.runtime").asText(null);
        return new Request(id, pid.asInt(), runtime != null && RUNTIMES.contains(runtime) ? runtime : null);
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException e) {
            LOG.debug("closing the hook socket: {}", e.toString());
        }
        for (Runnable waiting : workers.shutdownNow()) { // accepted, never served: ended now, not left open
            if (waiting instanceof Serve serve) {
                closeQuietly(serve.client);
            }
        }
        try {
            acceptor.join(2000);
            workers.awaitTermination(2, TimeUnit.SECONDS);
            // only the file this server bound: another instance may have bound the path since
            // (a rolling update whose new netfence took it over), and removing its socket would
            // leave every hooked container start refused while it still runs
            if (boundFile != null && Files.exists(socket, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                    && boundFile.equals(fileKey(socket))) {
                Files.deleteIfExists(socket);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            LOG.debug("removing the hook socket: {}", e.toString());
        }
    }
}
