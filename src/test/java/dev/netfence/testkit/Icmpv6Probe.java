package dev.netfence.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Hand-made ICMPv6 for kernel tests, through small python3 scripts run in a namespace the test
 * created: {@link #send} writes one ICMPv6 message from a raw socket (as a workload holding
 * CAP_NET_RAW could), so it crosses the OUTPUT chain like any locally sent packet, with a chosen
 * type, destination, hop limit and a marker in its payload; {@link #sniff} captures every
 * ICMPv6 frame arriving on an interface (AF_PACKET, so nothing on the receiving host's firewall
 * or stack can hide one) until stopped and reports type, hop limit, destination and whether the
 * marker was in it. Lines look like {@code type=135 hl=255 dst=2001:db8:1::2 marker=yes}.
 */
public final class Icmpv6Probe {
    /** Payload tag the sender appends and the sniffer looks for. */
    public static final String MARKER = "NETFENCE-EXFIL";

    private static final String SEND = """
            import socket, sys
            dst, icmp_type, hops, ifname, marker = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
            s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, hops)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, hops)
            body = bytes([icmp_type, 0, 0, 0, 0, 0, 0, 0]) + socket.inet_pton(socket.AF_INET6, dst) + marker.encode() * 4
            try:
                s.sendto(body, (dst, 0, 0, socket.if_nametoindex(ifname)))
                print("SENT")
            except OSError as e:
                print("ERROR " + str(e.errno))
            """;

    private static final String SNIFF = """
            import select, socket, sys, time
            ifname, marker = sys.argv[1], sys.argv[2].encode()
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x86dd))
            s.bind((ifname, 0))
            def report(frame, addr):
                if addr[2] == socket.PACKET_OUTGOING:
                    return
                ip = frame[14:]
                nh, hl, dst, rest = ip[6], ip[7], socket.inet_ntop(socket.AF_INET6, ip[24:40]), ip[40:]
                if nh == 0 and len(rest) >= 2:
                    nh, rest = rest[0], rest[(rest[1] + 1) * 8:]
                if nh != 58 or not rest:
                    return
                print("type=%d hl=%d dst=%s marker=%s" % (rest[0], hl, dst, "yes" if marker in rest else "no"), flush=True)
            print("READY", flush=True)
            end = time.time() + 120
            while time.time() < end:
                ready, _, _ = select.select([s, sys.stdin], [], [], 0.5)
                if sys.stdin in ready and not sys.stdin.readline():
                    # stopped: what the socket holds arrived before the stop, report it too
                    s.setblocking(False)
                    try:
                        while True:
                            report(*s.recvfrom(65535))
                    except BlockingIOError:
                        pass
                    break
                if s in ready:
                    report(*s.recvfrom(65535))
            """;

    private Icmpv6Probe() {}

    /** Sends one ICMPv6 message from {@code namespace}: "SENT" or "ERROR errno" (a firewall drop is EPERM). */
    public static String send(String namespace, String destination, int type, int hopLimit, String ifname)
            throws IOException {
        Path script = script("send", SEND);
        try {
            return Sh.ok("ip", "netns", "exec", namespace, Python.EXE, script.toString(), destination,
                    String.valueOf(type), String.valueOf(hopLimit), ifname, MARKER).strip();
        } finally {
            Files.deleteIfExists(script);
        }
    }

    /** A capture running in the background on one interface of a namespace. */
    public static final class Capture implements AutoCloseable {
        private final Process process;
        private final Path script;

        private Capture(Process process, Path script) {
            this.process = process;
            this.script = script;
        }

        /**
         * Stops the capture after a short grace period for frames in flight and returns one line
         * per ICMPv6 frame received, also those still queued on its socket when it is stopped (the
         * sniffer may not have run at all in the grace period on a loaded machine).
         */
        public List<String> frames() throws IOException, InterruptedException {
            Thread.sleep(500);
            process.getOutputStream().close();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                throw new IOException("sniffer did not finish");
            }
            List<String> out = new ArrayList<>();
            for (String line : new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (line.startsWith("type=")) {
                    out.add(line.strip());
                }
            }
            return out;
        }

        @Override
        public void close() throws IOException {
            if (process.isAlive()) {
                process.destroyForcibly();
            }
            Files.deleteIfExists(script);
        }
    }

    /**
     * Starts capturing ICMPv6 arriving on {@code ifname} in {@code namespace} and returns once it
     * listens; {@link Capture#frames()} ends it (at the latest it ends itself after two minutes).
     */
    public static Capture sniff(String namespace, String ifname) throws IOException {
        Path script = script("sniff", SNIFF);
        Process p = new ProcessBuilder("ip", "netns", "exec", namespace, Python.EXE, script.toString(), ifname, MARKER)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        Capture capture = new Capture(p, script);
        byte[] ready = new byte[6];
        int n = p.getInputStream().readNBytes(ready, 0, ready.length);
        if (n != ready.length || !new String(ready, StandardCharsets.US_ASCII).equals("READY\n")) {
            capture.close();
            throw new IOException("sniffer did not start");
        }
        return capture;
    }

    private static Path script(String name, String text) throws IOException {
        Path file = Files.createTempFile("netfence-" + name, ".py");
        Files.writeString(file, text, StandardCharsets.UTF_8);
        return file;
    }
}
