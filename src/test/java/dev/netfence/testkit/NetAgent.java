package dev.netfence.testkit;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.PortUnreachableException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * A tiny network agent run inside a test namespace ({@code ip netns exec NS java ... NetAgent}):
 * the stand-in for a container process and for the peer it talks to. It answers one line per
 * command read from stdin: {@code tcp HOST PORT TIMEOUTMS} (connect: OK, REFUSED, UNREACHABLE,
 * TIMEOUT), {@code udp HOST PORT TIMEOUTMS} (send a datagram and wait for the echo),
 * {@code listen tcp PORT} / {@code listen udp PORT} (accept / echo on every address, IPv4 and
 * IPv6, in the background), {@code seen PORT} (what the listeners on PORT received so far:
 * {@code NONE} or one {@code tcp/ADDRESS} per accepted connection and one {@code udp/ADDRESS} per
 * datagram, space-separated, so a test can assert that a peer never saw forbidden traffic),
 * {@code listen any PORT} (records every datagram to PORT on one wildcard socket, broadcasts and
 * the interfaces' groups' included), {@code listen echo PORT} (a TCP server that echoes every byte, for long-lived streams),
 * {@code send udp HOST PORT SOURCE} (one datagram from SOURCE, waiting for nothing),
 * {@code stream open NAME tcp|udp HOST PORT} (a flow kept open in the background that sends one
 * byte every 50 ms over one connection or one UDP socket, so always the same 5-tuple, and counts
 * the echoes) and {@code stream count NAME} (echoes received so far). It prints READY when it starts. Only JDK classes, so it runs from the test-classes directory alone.
 */
public final class NetAgent {
    /** What the listeners received, by local port. */
    private static final java.util.Map<Integer, java.util.List<String>> SEEN = new java.util.concurrent.ConcurrentHashMap<>();

    /** Echoes received by each open stream, by name. */
    private static final java.util.Map<String, java.util.concurrent.atomic.AtomicLong> STREAMS =
            new java.util.concurrent.ConcurrentHashMap<>();

    private NetAgent() {}

    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        out.println("READY");
        String line;
        while ((line = in.readLine()) != null) {
            String[] w = line.trim().split(" ");
            try {
                out.println(handle(w));
            } catch (Exception e) {
                out.println("ERROR " + e);
            }
        }
    }

    private static String handle(String[] w) throws Exception {
        switch (w[0]) {
            case "tcp":
                return tcp(w[1], Integer.parseInt(w[2]), Integer.parseInt(w[3]));
            case "udp":
                return udp(w[1], Integer.parseInt(w[2]), Integer.parseInt(w[3]));
            case "listen":
                if (w[1].equals("echo")) {
                    return listenEcho(Integer.parseInt(w[2]));
                }
                if (w[1].equals("source")) {
                    return listenSource(Integer.parseInt(w[2]));
                }
                if (w[1].equals("any")) {
                    return listenAny(Integer.parseInt(w[2]));
                }
                return w[1].equals("tcp") ? listenTcp(Integer.parseInt(w[2])) : listenUdp(Integer.parseInt(w[2]));
            case "stream":
                if (w[1].equals("count")) {
                    return Long.toString(STREAMS.get(w[2]).get());
                }
                return openStream(w[2], w[3], w[4], Integer.parseInt(w[5]));
            case "send":
                return send(w[2], Integer.parseInt(w[3]), w[4]);
            case "seen":
                java.util.List<String> seen = SEEN.getOrDefault(Integer.parseInt(w[1]), java.util.List.of());
                synchronized (seen) {
                    return seen.isEmpty() ? "NONE" : String.join(" ", seen);
                }
            default:
                return "ERROR unknown command " + w[0];
        }
    }

    private static String tcp(String host, int port, int timeoutMs) throws Exception {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(InetAddress.getByName(host), port), timeoutMs);
            return "OK";
        } catch (ConnectException e) {
            return "REFUSED";
        } catch (NoRouteToHostException e) {
            return "UNREACHABLE";
        } catch (SocketTimeoutException e) {
            return "TIMEOUT";
        }
    }

    private static String udp(String host, int port, int timeoutMs) throws Exception {
        try (DatagramSocket socket = new DatagramSocket()) {
            socket.connect(new InetSocketAddress(InetAddress.getByName(host), port));
            socket.setSoTimeout(timeoutMs);
            byte[] ping = "ping".getBytes(StandardCharsets.US_ASCII);
            socket.send(new DatagramPacket(ping, ping.length));
            DatagramPacket reply = new DatagramPacket(new byte[64], 64);
            socket.receive(reply);
            return "OK";
        } catch (PortUnreachableException e) {
            return "REFUSED";
        } catch (SocketTimeoutException e) {
            return "TIMEOUT";
        } catch (java.io.IOException e) {
            // send() itself fails with EPERM / ECONNREFUSED when a local REJECT rule answers at once
            return "REFUSED";
        }
    }

    /**
     * One datagram to host:port from {@code source} (the address the socket is bound to, which
     * also picks the interface of a broadcast or an IPv4 multicast where no route covers it; an
     * IPv6 link-scope destination names its interface, {@code ff02::1%eth0}), broadcast allowed;
     * waits for nothing: OK when the kernel took it, else ERROR and why.
     */
    private static String send(String host, int port, String source) throws Exception {
        InetAddress to = InetAddress.getByName(host);
        // a socket of the destination's own family: an IPv6 socket's IPv4 side sends no IPv4 multicast here
        java.net.ProtocolFamily family = to instanceof java.net.Inet4Address ? java.net.StandardProtocolFamily.INET
                : java.net.StandardProtocolFamily.INET6;
        try (java.nio.channels.DatagramChannel channel = java.nio.channels.DatagramChannel.open(family)) {
            channel.setOption(java.net.StandardSocketOptions.SO_BROADCAST, true);
            channel.bind(new InetSocketAddress(InetAddress.getByName(source), 0));
            channel.send(java.nio.ByteBuffer.wrap("ping".getBytes(StandardCharsets.US_ASCII)), new InetSocketAddress(to, port));
            return "OK";
        } catch (java.io.IOException e) {
            return "ERROR " + e.getMessage();
        }
    }

    private static String listenTcp(int port) throws Exception {
        ServerSocket server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(InetAddress.getByName("::"), port));
        daemon(() -> {
            while (true) {
                try (Socket s = server.accept()) {
                    record(port, "tcp/" + s.getInetAddress().getHostAddress());
                    s.getOutputStream().flush();
                } catch (Exception e) {
                    return;
                }
            }
        });
        return "OK";
    }

    /**
     * One echo socket per local address (not one on the wildcard): a wildcard socket answers
     * from whatever source address the kernel picks, which need not be the one that was asked.
     */
    private static String listenUdp(int port) throws Exception {
        for (java.net.NetworkInterface nic : java.util.Collections.list(java.net.NetworkInterface.getNetworkInterfaces())) {
            for (InetAddress address : java.util.Collections.list(nic.getInetAddresses())) {
                if (address.isLinkLocalAddress()) {
                    continue;
                }
                DatagramSocket socket = new DatagramSocket(new InetSocketAddress(address, port));
                daemon(() -> echo(socket));
            }
        }
        return "OK";
    }

    /**
     * Records every datagram to {@code port} as a host's service bound to the wildcard address gets
     * it: an IPv4 socket on 0.0.0.0 and an IPv6 one on ::, each in the all-hosts (224.0.0.1) or
     * all-nodes (ff02::1) group of every interface, so broadcasts and those groups' datagrams reach
     * it, which the per-address sockets of {@link #listenUdp} never get. The IPv6 socket's IPv4 datagrams are
     * the IPv4 socket's too and are not recorded twice. No echo.
     */
    private static String listenAny(int port) throws Exception {
        for (java.net.StandardProtocolFamily family : java.util.List.of(java.net.StandardProtocolFamily.INET,
                java.net.StandardProtocolFamily.INET6)) {
            java.nio.channels.DatagramChannel channel = java.nio.channels.DatagramChannel.open(family);
            channel.setOption(java.net.StandardSocketOptions.SO_REUSEADDR, true);
            boolean v4 = family == java.net.StandardProtocolFamily.INET;
            channel.bind(new InetSocketAddress(InetAddress.getByName(v4 ? "0.0.0.0" : "::"), port));
            // the JDK turns IP_MULTICAST_ALL off on its sockets (a C service's socket has it on and gets
            // the groups its interfaces are in): join the all-hosts / all-nodes group as such a socket sees it
            for (java.net.NetworkInterface nic : java.util.Collections.list(java.net.NetworkInterface.getNetworkInterfaces())) {
                // not isUp(): the JDK's asks for a carrier too, which a veth just set up may not show yet
                if (!nic.isLoopback() && nic.supportsMulticast()) {
                    channel.join(InetAddress.getByName(v4 ? "224.0.0.1" : "ff02::1"), nic);
                }
            }
            daemon(() -> {
                java.nio.ByteBuffer buffer = java.nio.ByteBuffer.allocate(512);
                while (true) {
                    try {
                        buffer.clear();
                        InetAddress from = ((InetSocketAddress) channel.receive(buffer)).getAddress();
                        if (family == java.net.StandardProtocolFamily.INET || from instanceof java.net.Inet6Address) {
                            record(port, "udp/" + from.getHostAddress());
                        }
                    } catch (Exception e) {
                        return;
                    }
                }
            });
        }
        return "OK";
    }

    private static void echo(DatagramSocket socket) {
        byte[] buffer = new byte[512];
        while (true) {
            try {
                DatagramPacket p = new DatagramPacket(buffer, buffer.length);
                socket.receive(p);
                record(socket.getLocalPort(), "udp/" + p.getAddress().getHostAddress());
                socket.send(new DatagramPacket(p.getData(), p.getLength(), p.getSocketAddress()));
            } catch (Exception e) {
                return;
            }
        }
    }

    private static String listenEcho(int port) throws Exception {
        return serveTcp(port, true, s -> {
            byte[] buffer = new byte[256];
            int n;
            while ((n = s.getInputStream().read(buffer)) > 0) {
                s.getOutputStream().write(buffer, 0, n);
            }
        });
    }

    /** A TCP server that writes to each client without end (a download), reading nothing. */
    private static String listenSource(int port) throws Exception {
        return serveTcp(port, false, s -> {
            byte[] chunk = new byte[1024];
            while (true) {
                s.getOutputStream().write(chunk);
                Thread.sleep(10);
            }
        });
    }

    /** What a TCP server does with one client, on a thread of its own. */
    private interface Client {
        void serve(Socket socket) throws Exception;
    }

    /** Accepts on {@code port} (all addresses) without end, each client served by {@code client}, recorded when asked. */
    private static String serveTcp(int port, boolean recorded, Client client) throws Exception {
        ServerSocket server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(InetAddress.getByName("::"), port));
        daemon(() -> {
            while (true) {
                try {
                    Socket s = server.accept();
                    if (recorded) {
                        record(port, "tcp/" + s.getInetAddress().getHostAddress());
                    }
                    daemon(() -> {
                        try (s) {
                            client.serve(s);
                        } catch (Exception e) {
                            // the stream ends
                        }
                    });
                } catch (Exception e) {
                    return;
                }
            }
        });
        return "OK";
    }

    /** Opens the flow synchronously (so the answer says whether it is up), then keeps it going in the background. */
    private static String openStream(String name, String protocol, String host, int port) throws Exception {
        java.util.concurrent.atomic.AtomicLong echoes = new java.util.concurrent.atomic.AtomicLong();
        InetSocketAddress target = new InetSocketAddress(InetAddress.getByName(host), port);
        if (protocol.equals("download")) { // reads only: counts the bytes a source sends, sends nothing itself
            Socket socket = new Socket();
            socket.connect(target, 3000);
            STREAMS.put(name, echoes);
            daemon(() -> {
                try (socket) {
                    byte[] buffer = new byte[4096];
                    int n;
                    while ((n = socket.getInputStream().read(buffer)) > 0) {
                        echoes.addAndGet(n);
                    }
                } catch (Exception e) {
                    // reset: the download is over
                }
            });
        } else if (protocol.equals("tcp")) {
            Socket socket = new Socket();
            socket.connect(target, 3000);
            socket.setSoTimeout(50);
            STREAMS.put(name, echoes);
            daemon(() -> {
                try (socket) {
                    while (true) {
                        socket.getOutputStream().write('s');
                        try {
                            int n = socket.getInputStream().read(new byte[64]);
                            if (n < 0) {
                                return;
                            }
                            echoes.addAndGet(n);
                        } catch (SocketTimeoutException e) {
                            // nothing back this round
                        }
                        Thread.sleep(50);
                    }
                } catch (Exception e) {
                    // reset or refused by a rule: the stream is over
                }
            });
        } else {
            DatagramSocket socket = new DatagramSocket();
            socket.connect(target);
            socket.setSoTimeout(50);
            STREAMS.put(name, echoes);
            daemon(() -> {
                byte[] ping = {'s'};
                while (true) {
                    try {
                        socket.send(new DatagramPacket(ping, 1));
                        socket.receive(new DatagramPacket(new byte[64], 64));
                        echoes.incrementAndGet();
                    } catch (SocketTimeoutException e) {
                        // nothing back this round
                    } catch (Exception e) {
                        // refused by a rule: keep sending from the same socket
                    }
                    try {
                        Thread.sleep(50);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
        }
        return "OK";
    }

    private static void record(int port, String what) {
        java.util.List<String> seen = SEEN.computeIfAbsent(port, p -> new java.util.ArrayList<>());
        synchronized (seen) {
            seen.add(what);
        }
    }

    private static void daemon(Runnable body) {
        Thread t = new Thread(body, "agent-listener");
        t.setDaemon(true);
        t.start();
    }
}
