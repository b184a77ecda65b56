package dev.netfence.netns;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fake {@code /proc} and cgroup hierarchies the tests of {@link ContainerCapabilities} read: a
 * v2 hierarchy and a v1 {@code pids} one as mountinfo names them, a container id, capability
 * masks with neither, one or the other risky capability, and helpers that write a process's status,
 * cgroup and threads, a cgroup's thread list and a namespace's socket counts by protocol.
 */
abstract class ContainerCapabilitiesFixture {
    static final String ID = "f6f6fcfc373d8ca438362e1ac9ab39e147bde01791ee2264e8506713984ed290";
    static final long NONE = 0x800405fbL;
    static final long NET_ADMIN = NONE | (1L << 12);
    static final long NET_RAW = NONE | (1L << 13);

    @TempDir
    Path root;
    Path proc;
    Path v2;
    Path v1;

    @BeforeEach
    void mounts() throws IOException {
        proc = Files.createDirectories(root.resolve("proc"));
        v2 = Files.createDirectories(root.resolve("unified"));
        v1 = Files.createDirectories(root.resolve("pids"));
        Files.createDirectories(proc.resolve("self"));
        Files.writeString(proc.resolve("self/mountinfo"), "38 30 0:35 / " + v1 + " rw - cgroup cgroup rw,pids\n"
                + "40 30 0:37 / " + v2 + " rw - cgroup2 cgroup2 rw\n");
    }

    /** A budget whose clock never moves: the tests of what is read, not of how long. */
    static ReadBudget unbounded() {
        return new ReadBudget(() -> 0L, "test");
    }

    ContainerCapabilities reader() {
        return new ContainerCapabilities(proc);
    }

    /** A cgroup directory {@code under/path} whose thread list names {@code tids}. */
    static Path cgroup(Path under, String list, String path, int... tids) throws IOException {
        Path dir = Files.createDirectories(Path.of(under + path));
        StringBuilder text = new StringBuilder();
        for (int tid : tids) {
            text.append(tid).append('\n');
        }
        Files.writeString(dir.resolve(list), text);
        return dir;
    }

    /** {@code pid}'s net/protocols counting these sockets in its namespace (as the kernel's, two PACKET lines). */
    void protocols(int pid, long packet, long xdp, long raw, long raw6) throws IOException {
        String head = "protocol  size sockets  memory press maxhdr  slab module     cl co di ac io in de sh ss gs se re bi"
                + " br ha uh gp em\n";
        String flags = "   -1   NI       0   no   kernel      n  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n\n";
        Files.writeString(Files.createDirectories(proc.resolve(pid + "/net")).resolve("protocols"), head
                + String.format("PACKET    1600 %6d", packet) + flags
                + String.format("PACKET    1600 %6d", 0) + flags
                + String.format("RAWv6     1344 %6d", raw6) + flags
                + String.format("XDP       1088 %6d", xdp) + flags
                + String.format("UDP       1152 %6d", 3) + flags
                + String.format("RAW       1152 %6d", raw) + flags);
    }

    /** A /proc entry for {@code pid} with {@code caps} in its permitted, effective and bounding sets. */
    void process(int pid, long caps, String cgroup, int... threads) throws IOException {
        Path dir = Files.createDirectories(proc.resolve(Integer.toString(pid)));
        String hex = String.format("%016x", caps);
        Files.writeString(dir.resolve("status"), "Name:\tsleep\nCapInh:\t0000000000000000\nCapPrm:\t" + hex
                + "\nCapEff:\t" + hex + "\nCapBnd:\t" + hex + "\nCapAmb:\t0000000000000000\n");
        Files.writeString(dir.resolve("cgroup"), cgroup);
        protocols(pid, 0, 0, 0, 0); // no raw socket in its namespace; a test that writes net/packet counts one

        for (int tid : threads.length == 0 ? new int[] {pid} : threads) {
            Files.createDirectories(dir.resolve("task").resolve(Integer.toString(tid)));
        }
    }
}
