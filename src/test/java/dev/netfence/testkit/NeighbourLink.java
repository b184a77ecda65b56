package dev.netfence.testkit;

import java.io.IOException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A throw-away link of three namespaces for kernel tests of what a neighbour can teach a sandbox's
 * IPv6 stack: {@code nft-<random>-s} (the sandbox, a stand-in container with its runtime's static
 * configuration: 2001:db8:X::1/64 and fe80::1 on {@code eth0}, default route via the gateway's
 * link-local fe80::a1 and a backup one (metric 2048) via its second, fe80::a2, the kernel's
 * defaults for advertisements and redirects, set explicitly, route-information options taken up
 * to /64 and privacy addresses on, as many distributions set them), {@code nft-<random>-g} (the
 * gateway, holding the link's bridge with fe80::a1, fe80::a2 and 2001:db8:X::fffe,
 * and behind it the real hosts: addresses of other prefixes on its {@code lo}) and
 * {@code nft-<random>-n} (a neighbour on the same link, fe80::99, holding the same host addresses
 * on its {@code eth0} and answering on-link for every destination). Both "hosts" serve TCP 443 on
 * those addresses with one line naming themselves ({@code real}, {@code neighbour}), so a
 * connection tells which one it reached. Link-local addresses are fixed and without duplicate
 * detection, so advertisements and redirects can be sent at once. Addresses only in
 * 2001:db8::/32; the host namespace is never changed. {@link #close()} ends exactly the processes
 * it started and deletes the namespaces, also after a failed {@link #create()}.
 */
public final class NeighbourLink implements AutoCloseable {
    public static final String GATEWAY_LL = "fe80::a1";
    /** The gateway's second link-local address, the first hop of the sandbox's backup default route. */
    public static final String BACKUP_LL = "fe80::a2";
    public static final String NEIGHBOUR_LL = "fe80::99";
    private static final int PORT = 443;

    /** argv: name, addresses...; serves one line (the name) per connection on port 443 until killed. */
    private static final String SERVE = """
            import socket, sys, threading
            name = sys.argv[1].encode() + b"\\n"
            def serve(s):
                while True:
                    c, _ = s.accept(); c.sendall(name); c.close()
            for a in sys.argv[2:]:
                s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((a, 443)); s.listen(16)
                threading.Thread(target=serve, args=(s,), daemon=True).start()
            print("READY", flush=True)
            threading.Event().wait()
            """;

    /** argv: host, port; prints the first line the server sent, or ERROR errno. */
    private static final String CONNECT = """
            import socket, sys
            try:
                s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1.5)
                print(s.makefile().readline().strip() or "EMPTY")
            except OSError as e:
                print("ERROR %s" % e.errno)
            """;

    private final String id;
    private final int x;
    private final List<Runnable> cleanups = new ArrayList<>();
    private Process sandbox;

    private NeighbourLink() {
        byte[] random = new byte[4];
        new SecureRandom().nextBytes(random);
        this.id = HexFormat.of().formatHex(random);
        this.x = 1 + Byte.toUnsignedInt(random[0]) % 250;
    }

    /**
     * Builds the link; {@code hosts} (the gateway's real hosts, also held by the neighbour, named
     * within this link's range as {@link #host} takes them) are served on both. On any failure
     * cleans up what was made.
     */
    public static NeighbourLink create(List<String> hosts) throws IOException, InterruptedException {
        NeighbourLink link = new NeighbourLink();
        try {
            link.build(hosts.stream().map(link::host).toList());
            return link;
        } catch (IOException | InterruptedException | RuntimeException e) {
            link.close();
            throw e;
        }
    }

    private void build(List<String> hosts) throws IOException, InterruptedException {
        String s = sandboxNs();
        String g = gatewayNs();
        String n = neighbourNs();
        for (String ns : List.of(s, g, n)) {
            Sh.ok("ip", "netns", "add", ns);
            cleanups.add(0, () -> Sh.run("ip", "netns", "del", ns));
            Sh.ok("ip", "-n", ns, "link", "set", "lo", "up");
        }
        Sh.ok("ip", "-n", g, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0");
        Sh.ok("ip", "-n", g, "link", "add", "vs", "type", "veth", "peer", "name", "eth0", "netns", s);
        Sh.ok("ip", "-n", g, "link", "add", "vn", "type", "veth", "peer", "name", "eth0", "netns", n);
        // what a runtime leaves a container's namespace with, and the kernel's defaults (this namespace only)
        Sh.ok("ip", "netns", "exec", s, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=0",
                "net.ipv6.conf.eth0.accept_ra=1", "net.ipv6.conf.eth0.autoconf=1",
                "net.ipv6.conf.eth0.accept_redirects=1", "net.ipv6.conf.all.accept_redirects=1",
                "net.ipv6.conf.eth0.accept_ra_rt_info_max_plen=64", "net.ipv6.conf.eth0.use_tempaddr=2");
        for (String[] dev : new String[][] {{g, "br0"}, {g, "vs"}, {g, "vn"}, {s, "eth0"}, {n, "eth0"}}) {
            Sh.ok("ip", "-n", dev[0], "link", "set", dev[1], "addrgenmode", "none");
        }
        Sh.ok("ip", "-n", g, "link", "set", "vs", "master", "br0");
        Sh.ok("ip", "-n", g, "link", "set", "vn", "master", "br0");
        address(g, "br0", GATEWAY_LL + "/64", BACKUP_LL + "/64", prefix(0) + "fffe/64");
        address(s, "eth0", "fe80::1/64", sandboxAddress() + "/64");
        address(n, "eth0", NEIGHBOUR_LL + "/64");
        for (String host : hosts) {
            Sh.ok("ip", "-n", g, "-6", "addr", "add", host + "/128", "dev", "lo");
            Sh.ok("ip", "-n", n, "-6", "addr", "add", host + "/64", "dev", "eth0", "nodad");
        }
        for (String[] dev : new String[][] {{g, "vs"}, {g, "vn"}, {g, "br0"}, {s, "eth0"}, {n, "eth0"}}) {
            Sh.ok("ip", "-n", dev[0], "link", "set", dev[1], "up");
        }
        Sh.ok("ip", "-n", s, "-6", "route", "add", "default", "via", GATEWAY_LL, "dev", "eth0");
        Sh.ok("ip", "-n", s, "-6", "route", "add", "default", "via", BACKUP_LL, "dev", "eth0", "metric", "2048");
        Sh.ok("ip", "-n", n, "-6", "route", "add", "default", "dev", "eth0"); // the neighbour answers whatever source
        serve(g, "real", hosts);
        serve(n, "neighbour", hosts);
        sandbox = new ProcessBuilder("ip", "netns", "exec", s, "sleep", "infinity")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectErrorStream(true).start();
        Process started = sandbox;
        cleanups.add(0, () -> end(started));
        for (int i = 0; i < 500 && !ProcessHandle.of(sandbox.pid()).flatMap(h -> h.info().command())
                .orElse("").endsWith("sleep"); i++) {
            Thread.sleep(10);
        }
    }

    private static void address(String ns, String dev, String... addresses) {
        for (String a : addresses) {
            Sh.ok("ip", "-n", ns, "-6", "addr", "add", a, "dev", dev, "nodad");
        }
    }

    private void serve(String ns, String name, List<String> hosts) throws IOException {
        List<String> argv = new ArrayList<>(List.of("ip", "netns", "exec", ns, Python.EXE, "-c", SERVE, name));
        argv.addAll(hosts);
        Process p = new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        cleanups.add(0, () -> end(p));
        byte[] ready = p.getInputStream().readNBytes(6);
        if (!new String(ready, java.nio.charset.StandardCharsets.US_ASCII).equals("READY\n")) {
            throw new IOException(name + " server in " + ns + " did not start");
        }
    }

    private static void end(Process p) {
        p.destroyForcibly();
        try {
            p.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public String sandboxNs() {
        return "nft-" + id + "-s";
    }

    public String gatewayNs() {
        return "nft-" + id + "-g";
    }

    public String neighbourNs() {
        return "nft-" + id + "-n";
    }

    /** The pid of the process standing in for the container. */
    public int sandboxPid() {
        return (int) sandbox.pid();
    }

    /**
     * The /64 {@code 2001:db8:X:SUBNET::/64} of this link's range, as {@code ip} prints it
     * ({@code 2001:db8:X:SUBNET::}); subnet 0 is the sandbox's.
     */
    public String prefix(int subnet) {
        return "2001:db8:" + Integer.toHexString(x) + (subnet == 0 ? "" : ":" + Integer.toHexString(subnet)) + "::";
    }

    /** Address {@code SUBNET::HOST} of this link's range ({@code "a::10"}: {@code 2001:db8:X:a::10}). */
    public String host(String relative) {
        return "2001:db8:" + Integer.toHexString(x) + ":" + relative;
    }

    public String sandboxAddress() {
        return prefix(0) + "1";
    }

    /** Runs python {@code script} with {@code args} in the neighbour's namespace. */
    public String neighbourRuns(String script, String... args) {
        List<String> argv = new ArrayList<>(List.of("ip", "netns", "exec", neighbourNs(), Python.EXE, "-c", script));
        argv.addAll(List.of(args));
        return Sh.ok(argv.toArray(String[]::new));
    }

    /** {@code ip -6 ARGS} in the sandbox's namespace. */
    public String sandboxIp(String... args) {
        List<String> argv = new ArrayList<>(List.of("ip", "-n", sandboxNs(), "-6"));
        argv.addAll(List.of(args));
        return Sh.ok(argv.toArray(String[]::new));
    }

    /** Which host the sandbox reaches at [host]:443: "real", "neighbour", or "ERROR errno". */
    public String sandboxConnects(String host) {
        return Sh.ok("ip", "netns", "exec", sandboxNs(), Python.EXE, "-c", CONNECT, host, Integer.toString(PORT)).strip();
    }

    @Override
    public void close() {
        for (Runnable cleanup : cleanups) {
            try {
                cleanup.run();
            } catch (RuntimeException e) {
                // keep cleaning up the rest
            }
        }
        cleanups.clear();
    }
}
