package dev.netfence.kafka.testkit;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP relay in front of one broker listener that can stall chosen Kafka requests, the way a
 * broker or network that hangs mid-request does, without stopping the whole broker: the next
 * {@code count} requests with a given API key (say {@code END_TXN}, a transaction's commit) are
 * each held for a while before they are passed on, and everything behind them on that connection
 * waits too. Every other request is relayed as is. A held request whose client closes the
 * connection meanwhile is dropped, never delivered late (its client gave up on it, as when a
 * stalled path is reset). The broker must advertise this relay's port on the listener it fronts,
 * so clients bootstrapped here keep talking through it ({@link KraftBroker} does that for its
 * {@code PROXIED} listener). Requests are Kafka frames: a 4-byte size, then the request header,
 * whose first two bytes are the API key.
 */
public final class StallingProxy implements AutoCloseable {
    private final ServerSocket server;
    private final int targetPort;
    private final Object lock = new Object();
    private int stallApiKey = -1;
    private Duration stallHold = Duration.ZERO;
    private int stallsLeft;
    private final AtomicInteger held = new AtomicInteger();
    private final AtomicInteger dropped = new AtomicInteger();

    /** Listens on a free loopback port and relays to {@code 127.0.0.1:targetPort}. */
    public StallingProxy(int targetPort) {
        this.targetPort = targetPort;
        try {
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the stalling proxy's port", e);
        }
        Thread acceptor = new Thread(this::acceptLoop, "stalling-proxy-" + server.getLocalPort());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** The port clients connect to. */
    public int port() {
        return server.getLocalPort();
    }

    /** {@code host:port} for {@code bootstrap.servers}. */
    public String bootstrapServers() {
        return "127.0.0.1:" + port();
    }

    /** Holds each of the next {@code count} requests with {@code apiKey} for {@code hold} (replacing any armed stall). */
    public void stall(int apiKey, Duration hold, int count) {
        synchronized (lock) {
            stallApiKey = apiKey;
            stallHold = hold;
            stallsLeft = count;
        }
    }

    /** How many requests were held so far. */
    public int held() {
        return held.get();
    }

    /** How many held requests were dropped because their client closed the connection during the hold. */
    public int dropped() {
        return dropped.get();
    }

    private Duration holdFor(int apiKey) {
        synchronized (lock) {
            if (apiKey != stallApiKey || stallsLeft <= 0) {
                return Duration.ZERO;
            }
            stallsLeft--;
            return stallHold;
        }
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                if (server.isClosed()) {
                    return;
                }
                continue;
            }
            try {
                new Connection(client, new Socket(InetAddress.getLoopbackAddress(), targetPort)).start();
            } catch (IOException brokerDown) {
                closeQuietly(client); // the client sees a refused broker, as without the relay
            }
        }
    }

    /** One client connection: a reader of its requests, a forwarder that applies holds, a relay of responses. */
    private final class Connection {
        private final Socket client;
        private final Socket broker;
        private final BlockingQueue<Frame> requests = new LinkedBlockingQueue<>();
        private final CountDownLatch clientGone = new CountDownLatch(1);

        private record Frame(byte[] bytes, Duration hold) {}

        Connection(Socket client, Socket broker) {
            this.client = client;
            this.broker = broker;
        }

        void start() {
            daemon(this::readRequests, "requests");
            daemon(this::forwardRequests, "forward");
            daemon(this::relayResponses, "responses");
        }

        private void daemon(Runnable r, String what) {
            Thread t = new Thread(r, "stalling-proxy-" + client.getPort() + "-" + what);
            t.setDaemon(true);
            t.start();
        }

        private void readRequests() {
            try (DataInputStream in = new DataInputStream(new BufferedInputStream(client.getInputStream()))) {
                while (true) {
                    int size = in.readInt();
                    byte[] frame = new byte[4 + size];
                    frame[0] = (byte) (size >>> 24);
                    frame[1] = (byte) (size >>> 16);
                    frame[2] = (byte) (size >>> 8);
                    frame[3] = (byte) size;
                    in.readFully(frame, 4, size);
                    int apiKey = size >= 2 ? ((frame[4] & 0xff) << 8) | (frame[5] & 0xff) : -1;
                    requests.add(new Frame(frame, holdFor(apiKey)));
                }
            } catch (EOFException e) {
                // the client closed its side
            } catch (IOException e) {
                // reset or closed by the other direction
            } finally {
                clientGone.countDown();
                requests.add(new Frame(null, Duration.ZERO));
            }
        }

        private void forwardRequests() {
            try (OutputStream out = broker.getOutputStream()) {
                while (true) {
                    Frame f = requests.take();
                    if (f.bytes() == null) {
                        return;
                    }
                    if (!f.hold().isZero()) {
                        held.incrementAndGet();
                        if (clientGone.await(f.hold().toMillis(), TimeUnit.MILLISECONDS)) {
                            dropped.incrementAndGet();
                            return;
                        }
                    }
                    out.write(f.bytes());
                    out.flush();
                }
            } catch (IOException | InterruptedException e) {
                // the broker side is gone; closing both ends below tells the client
            } finally {
                closeBoth();
            }
        }

        private void relayResponses() {
            byte[] buf = new byte[64 * 1024];
            try {
                var in = broker.getInputStream();
                var out = client.getOutputStream();
                for (int n; (n = in.read(buf)) >= 0; ) {
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException e) {
                // either side closed
            } finally {
                closeBoth();
            }
        }

        private void closeBoth() {
            closeQuietly(client);
            closeQuietly(broker);
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException ignored) {
            // already closed
        }
    }
}
