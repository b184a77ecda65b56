package dev.netfence.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Loopback TCP ports for child processes that must be told their port before they bind it (the
 * embedded broker's listeners). A port the kernel hands out with {@code bind(0)} comes from the
 * ephemeral range, where any outgoing connection started before the child binds may take it;
 * so the port is chosen below that range ({@code /proc/sys/net/ipv4/ip_local_port_range}) and
 * proven bindable on 127.0.0.1 first, and never handed out twice by this JVM (a broker's three
 * listeners are picked one after the other before it binds any). Only another process listening
 * on it in the meantime can still take it.
 */
public final class LoopbackPorts {

    static final int LOWEST = 10_000;
    private static final Path RANGE = Path.of("/proc/sys/net/ipv4/ip_local_port_range");

    private static final java.util.Set<Integer> HANDED_OUT = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private LoopbackPorts() {
    }

    /** A port below the ephemeral range that nothing holds on 127.0.0.1 right now and this JVM never handed out. */
    public static int unused() {
        int below = ephemeralLow();
        if (below - LOWEST < 1_000) {
            throw new IllegalStateException("the ephemeral port range starts at " + below
                    + ": too few ports below it (from " + LOWEST + ") to pick one outside it");
        }
        for (int attempt = 0; attempt < 200; attempt++) {
            int port = ThreadLocalRandom.current().nextInt(LOWEST, below);
            if (!HANDED_OUT.add(port)) {
                continue; // this JVM gave it out already, maybe to a listener that has not bound it yet
            }
            try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
                return s.getLocalPort();
            } catch (BindException taken) {
                // held by someone else: try another
            } catch (IOException e) {
                throw new UncheckedIOException("cannot probe loopback port " + port, e);
            }
        }
        throw new IllegalStateException("no unused loopback port in [" + LOWEST + ", " + below + ") after 200 tries");
    }

    /**
     * The first port of the kernel's ephemeral range (32768 where it cannot be read). Read in one
     * large read: a sysctl file answers a read at a non-zero offset with end-of-file, and
     * {@code Files.readString} starts with a one-byte read on a file whose size is 0 ("3").
     */
    static int ephemeralLow() {
        try (InputStream in = Files.newInputStream(RANGE)) {
            String text = new String(in.readNBytes(64), StandardCharsets.US_ASCII);
            return Integer.parseInt(text.trim().split("\\s+")[0]);
        } catch (IOException | RuntimeException e) {
            return 32_768;
        }
    }
}
