package dev.netfence.hostguard;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A UDP port of the test's JVM in the host namespace, on every address, that the container proofs
 * send datagrams to (what a policy may allow a sandbox to reach on its host), and what it received.
 */
final class HostUdpPort implements AutoCloseable {
    private final DatagramSocket socket;

    HostUdpPort() throws IOException {
        socket = new DatagramSocket(new InetSocketAddress("0.0.0.0", 0));
    }

    int port() {
        return socket.getLocalPort();
    }

    /**
     * The datagrams received, as {@code SOURCE PAYLOAD}, until the one with payload {@code last}
     * came and 300 ms passed without another, or 5 s passed.
     */
    List<String> received(String last) throws IOException {
        List<String> got = new ArrayList<>();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        socket.setSoTimeout(300);
        DatagramPacket packet = new DatagramPacket(new byte[512], 512);
        while (true) {
            try {
                socket.receive(packet);
                got.add(packet.getAddress().getHostAddress() + " "
                        + new String(packet.getData(), 0, packet.getLength(), StandardCharsets.UTF_8));
            } catch (SocketTimeoutException e) {
                if (got.stream().anyMatch(d -> d.endsWith(" " + last)) || System.nanoTime() > until) {
                    return got;
                }
            }
        }
    }

    /** Discards what the port holds (a late datagram of an earlier case). */
    void drain() throws IOException {
        socket.setSoTimeout(100);
        DatagramPacket packet = new DatagramPacket(new byte[512], 512);
        while (true) {
            try {
                socket.receive(packet);
            } catch (SocketTimeoutException e) {
                return;
            }
        }
    }

    @Override
    public void close() {
        socket.close();
    }
}
