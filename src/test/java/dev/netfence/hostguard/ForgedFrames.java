package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.testkit.Python;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;

/**
 * Frames that claim any identity, for the host guard's binding proofs ({@link HostGuardBindingPodmanTest}):
 * a python sender that writes whole Ethernet frames on AF_PACKET with every field given (Java has
 * no AF_PACKET), and listeners that print every ARP frame or ICMPv6 neighbour advertisement a host
 * interface receives, run as a child process ({@link Tap}).
 */
final class ForgedFrames {
    private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

    private ForgedFrames() {}

    /**
     * The frame sender ({@code frame_sender.py}: writes COUNT copies of one Ethernet frame on
     * AF_PACKET, every field given, so any identity can be claimed) and the listener
     * ({@code tap_listener.py}: one line per frame of a kind received on an interface), both
     * resources of this package whose first lines say their arguments, copied to temporary files,
     * removed by {@link #close}.
     */
    record Scripts(Path sender, Path listener) implements AutoCloseable {
        static Scripts write() throws IOException {
            Path sender = java.nio.file.Files.createTempFile("guard-forge", ".py");
            java.nio.file.Files.writeString(sender, resource("frame_sender.py"), StandardCharsets.UTF_8);
            Path listener = java.nio.file.Files.createTempFile("guard-tap", ".py");
            java.nio.file.Files.writeString(listener, resource("tap_listener.py"), StandardCharsets.UTF_8);
            return new Scripts(sender, listener);
        }

        private static String resource(String name) throws IOException {
            try (java.io.InputStream in = ForgedFrames.class.getResourceAsStream(name)) {
                if (in == null) {
                    throw new IOException("no resource " + name + " next to " + ForgedFrames.class.getName());
                }
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
        }

        @Override
        public void close() throws IOException {
            java.nio.file.Files.deleteIfExists(sender);
            java.nio.file.Files.deleteIfExists(listener);
        }
    }

    /** 12 random hex digits, to tell one case's frames from any other's. */
    static String token() {
        byte[] b = new byte[6];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /** A random locally administered unicast MAC, 02:xx:xx:xx:xx:xx. */
    static String randomMac() {
        byte[] b = new byte[5];
        RANDOM.nextBytes(b);
        return "02:" + HexFormat.ofDelimiter(":").formatHex(b);
    }

    /** An IPv4 literal as a 32-bit number. */
    static int toInt(String ipv4) throws IOException {
        byte[] b = InetAddress.getByName(ipv4).getAddress();
        return (b[0] & 0xff) << 24 | (b[1] & 0xff) << 16 | (b[2] & 0xff) << 8 | (b[3] & 0xff);
    }

    /** A 32-bit number as the 4 bytes of an IPv4 address. */
    static byte[] toBytes(int v) {
        return new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
    }

    /** {@code ipv6} as glibc's inet_ntop (the listener's python) prints it. */
    static String inetNtop(String ipv6) {
        return dev.netfence.policy.IpAddresses.format(dev.netfence.policy.IpAddresses.parseIpv6(ipv6));
    }



    /**
     * the listener script (written to {@code listener}) for frames of {@code kind} ({@code arp},
     * {@code nd}, {@code udp}, {@code mcast}) on {@code bridge} in the host namespace, run as a child process (Java has no
     * AF_PACKET): every such frame the bridge receives, one line each, as it comes. It ends
     * when its stdin closes, after 30 s at the latest, and is killed by {@link #close()}.
     */
    static final class Tap implements AutoCloseable {
        private final Process process;
        private final List<String> lines = new CopyOnWriteArrayList<>();
        private final Thread reader;

        Tap(Path listener, String bridge, String kind) throws IOException {
            this(List.of(Python.EXE, listener.toString(), bridge, "30", kind), bridge);
        }

        /** The listener on {@code iface} inside the network namespace {@code netns} ({@code ip netns} name). */
        static Tap inNamespace(Path listener, String netns, String iface, String kind) throws IOException {
            return new Tap(List.of("ip", "netns", "exec", netns, Python.EXE, listener.toString(), iface, "30", kind),
                    netns + "/" + iface);
        }

        private Tap(List<String> command, String bridge) throws IOException {
            process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8));
            reader = new Thread(() -> {
                try {
                    for (String line; (line = out.readLine()) != null; ) {
                        lines.add(line);
                    }
                } catch (IOException e) {
                    // the process was killed
                }
            }, "guard-tap");
            reader.setDaemon(true);
            reader.start();
            Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(lines)
                    .as("the ARP listener on %s (its process %s)", bridge, process.isAlive() ? "runs" : "ended")
                    .contains("READY"));
        }

        /** Every frame seen (OP SHA SPA THA TPA), once {@code last} was (5 s at most) and 300 ms more passed; stops the listener. */
        List<String> framesAfter(String last) throws Exception {
            try {
                Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> lines.contains(last));
            } catch (ConditionTimeoutException e) {
                // asserted by the caller, with what was seen
            }
            Thread.sleep(300);
            process.getOutputStream().close();
            process.waitFor(5, TimeUnit.SECONDS);
            reader.join(2000);
            return lines.stream().filter(l -> !l.equals("READY")).toList();
        }

        @Override
        public void close() {
            process.destroyForcibly();
            try {
                process.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
