package dev.netfence.enforce;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The /proc entries the enforcer reads for a container process, written under a test's proc root
 * for fake pins: {@code status} (capabilities), {@code net/dev} (interfaces), {@code net/protocols}
 * (no raw socket), {@code stat}
 * (start time), {@code task/PID} (its one thread) and a {@code cgroup} that names no container,
 * so the capabilities read are the process's own.
 */
final class FakeProc {
    /** The capabilities podman gives a container by default: no CAP_NET_ADMIN, no CAP_NET_RAW. */
    static final long PODMAN_DEFAULT_CAPS = 0x800405fbL;

    private FakeProc() {}

    /** A container process {@code pid} with {@code caps} (in its permitted, effective and bounding sets) and an eth0 next to lo. */
    static void container(Path proc, int pid, long caps) {
        process(proc, pid, caps, "lo", "eth0");
    }

    /** {@link #container} whose {@code ns/net} is this JVM's own network namespace; that namespace's id. */
    static dev.netfence.netns.NamespaceId inThisNamespace(Path proc, int pid, long caps) {
        container(proc, pid, caps);
        try {
            Files.createDirectories(proc.resolve(pid + "/ns"));
            Files.createSymbolicLink(proc.resolve(pid + "/ns/net"), Path.of("/proc/self/ns/net"));
            return dev.netfence.netns.NamespaceId.of(Path.of("/proc/self/ns/net"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void process(Path proc, int pid, long caps, String... interfaces) {
        Path dir = proc.resolve(Integer.toString(pid));
        StringBuilder dev = new StringBuilder("Inter-|   Receive\n face |bytes\n");
        for (String name : interfaces) {
            dev.append(String.format("%6s: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0%n", name));
        }
        try {
            Files.createDirectories(dir.resolve("net"));
            Files.createDirectories(dir.resolve("task").resolve(Integer.toString(pid)));
            Files.writeString(dir.resolve("cgroup"), "0::/\n");
            Files.writeString(dir.resolve("status"), "Name:\tsleep\nCapInh:\t0000000000000000\nCapPrm:\t"
                    + hex(caps) + "\nCapEff:\t" + hex(caps) + "\nCapBnd:\t" + hex(caps) + "\nCapAmb:\t0000000000000000\n");
            Files.writeString(dir.resolve("net/dev"), dev.toString());
            Files.writeString(dir.resolve("net/protocols"), "protocol  size sockets  memory press maxhdr  slab module\n"
                    + "PACKET    1600      0      -1   NI       0   no   kernel\n"
                    + "XDP       1088      0      -1   NI       0   no   kernel\n"
                    + "RAW       1152      0      -1   NI       0   yes  kernel\n");
            Files.writeString(dir.resolve("stat"), pid + " (sleep) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 4711 0 0\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String hex(long caps) {
        return String.format("%016x", caps);
    }
}
