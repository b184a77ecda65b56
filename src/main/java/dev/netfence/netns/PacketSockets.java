package dev.netfence.netns;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Collection;
import java.util.HashSet;
import java.util.Set;

/**
 * Whether a container holds an AF_PACKET socket of its network namespace: the kernel checks
 * CAP_NET_RAW only when such a socket is made, so a workload that made one and then dropped the
 * capability from every set still sends frames through it that skip the OUTPUT chain; it counts
 * as holding CAP_NET_RAW ({@link ContainerCapabilities}). The namespace's packet sockets are the
 * lines of a member pid's {@code net/packet} (one read, which finds none in the common case).
 * When there are some, a socket counts unless it is explained: it counts at once when one of the
 * container's processes holds it ({@code fd/*} links to {@code socket:[INODE]}, each process
 * once, by its {@code Tgid}); it does not count when only processes outside the container in the
 * same namespace hold it (an operator's {@code nsenter ... tcpdump}, a pod co-member's), found by a
 * walk of {@code /proc} done only then, where a holder whose cgroup names the container (one forked
 * since the threads were listed), or cannot be read, makes it count; a socket nobody in the
 * namespace visibly holds counts too (one parked in flight in a unix socket's queue, in an
 * io_uring's file table, or passed to a host process outside the namespace, a bus daemon, which the
 * workload can take back). Without a container id, where the pid's cgroup does not name it, or with
 * a listing longer than {@link ProcFile#LIMIT}, any listed socket counts. A process whose
 * descriptors netfence may not list explains nothing; one that exited is skipped. No
 * {@code net/packet} at all: the kernel has no packet sockets. The walk runs within the read's
 * budget ({@link ContainerCapabilities.Budget}): a host of many processes, or a workload that
 * keeps the namespace's processes many, fails the read rather than stall it.
 */
final class PacketSockets {
    private PacketSockets() {}

    /**
     * Whether the container {@code containerId} (null: not known), whose threads {@code tids} were
     * just read, holds, or may hold, a packet socket of {@code pid}'s namespace; IOException when
     * {@code budget} runs out first.
     */
    static boolean heldBy(Path procRoot, int pid, String containerId, Collection<String> tids,
            ContainerCapabilities.Budget budget) throws IOException {
        Set<String> unexplained = new HashSet<>();
        if (!listed(procRoot, pid, unexplained)) {
            return true; // too long a listing to judge: counted
        }
        if (unexplained.isEmpty()) {
            return false;
        }
        if (containerId == null || !ofContainer(procRoot.resolve(Integer.toString(pid)), containerId)) {
            return true; // no container to tell its processes from others by (no id, or a cgroup not naming it): counted
        }
        Set<String> processes = new HashSet<>();
        for (String tid : tids) {
            String tgid = tgidOf(procRoot, tid);
            if (tgid != null && processes.add(tgid)) {
                if (explains(procRoot.resolve(tgid).resolve("fd"), unexplained)) {
                    return true; // the container holds it
                }
                budget.check(processes.size());
            }
        }
        // held elsewhere in the namespace? only a process in it explains one (a socket passed to a host daemon
        // that keeps what it is sent, a bus, must not); one of the container (forked since its threads were
        // listed), or one whose cgroup cannot be read, makes it count
        NamespaceId ns;
        try {
            ns = NamespaceId.of(ProcTasks.view(procRoot, pid).resolve("ns/net"));
        } catch (IOException gone) {
            return true;
        }
        int walked = 0;
        try (DirectoryStream<Path> all = Files.newDirectoryStream(procRoot, p -> isNumber(p.getFileName().toString()))) {
            for (Path process : all) {
                budget.check(processes.size() + ++walked);
                if (!processes.contains(process.getFileName().toString()) && in(process, ns)
                        && explains(process.resolve("fd"), unexplained)) {
                    if (ofContainer(process, containerId) || !Files.exists(process.resolve("cgroup"))) {
                        return true;
                    }
                    if (unexplained.isEmpty()) {
                        return false; // every one held by a process outside the container
                    }
                }
            }
        } catch (DirectoryIteratorException e) {
            throw e.getCause();
        }
        return true; // one nobody in the namespace visibly holds: parked in flight, or in an io_uring's table
    }

    private static boolean in(Path process, NamespaceId ns) {
        try {
            return ns.equals(NamespaceId.of(process.resolve("ns/net")));
        } catch (IOException | RuntimeException gone) {
            return false;
        }
    }

    /** Whether {@code process} is one of container {@code containerId}'s (its cgroup names it); a gone one is not. */
    private static boolean ofContainer(Path process, String containerId) {
        try {
            return !CgroupMembership.containersIn(ProcFile.read(process.resolve("cgroup")), containerId).isEmpty();
        } catch (IOException | RuntimeException gone) {
            return false;
        }
    }

    /**
     * Adds the socket inodes the {@code net/packet} of {@code pid}'s namespace lists (its last
     * column) to {@code into}; false when the listing is longer than the read limit.
     */
    static boolean listed(Path procRoot, int pid, Set<String> into) throws IOException {
        String packet;
        try {
            packet = readWhole(procRoot.resolve(Integer.toString(pid)).resolve("net/packet"));
        } catch (NoSuchFileException leaderGone) { // a leader that exited while its threads run: through one of them
            try {
                packet = readWhole(ProcTasks.view(procRoot, pid).resolve("net/packet"));
            } catch (NoSuchFileException none) {
                return true; // no packet family in this kernel (its module not loaded): no such socket
            }
        }
        if (packet.length() >= ProcFile.LIMIT) {
            return false;
        }
        String[] lines = packet.split("\n");
        for (int i = 1; i < lines.length; i++) {
            String line = lines[i].strip();
            if (!line.isEmpty()) {
                into.add(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return true;
    }

    /** One read for the header alone (the common case: no packet socket), the file up to its limit otherwise. */
    private static String readWhole(Path file) throws IOException {
        String first = ProcFile.readFirst(file, ProcFile.LIMIT);
        int header = first.indexOf('\n');
        return header < 0 || header + 1 == first.length() ? first : ProcFile.read(file);
    }

    /** The process {@code tid} belongs to ({@code Tgid} of its status), or null when it exited. */
    private static String tgidOf(Path procRoot, String tid) throws IOException {
        String status;
        try {
            status = ProcFile.readFirst(procRoot.resolve(tid).resolve("status"), ProcFile.LIMIT);
        } catch (NoSuchFileException exited) {
            return null;
        }
        int at = status.indexOf("\nTgid:");
        if (at < 0) {
            return tid;
        }
        int end = status.indexOf('\n', at + 1);
        return status.substring(at + 6, end < 0 ? status.length() : end).strip();
    }

    /** Removes from {@code inodes} those {@code fds} links to; whether it removed any. */
    private static boolean explains(Path fds, Set<String> inodes) throws IOException {
        boolean any = false;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(fds)) {
            for (Path fd : entries) {
                String target;
                try {
                    target = Files.readSymbolicLink(fd).toString();
                } catch (NoSuchFileException closed) {
                    continue;
                }
                if (target.startsWith("socket:[") && target.endsWith("]")
                        && inodes.remove(target.substring(8, target.length() - 1))) {
                    any = true;
                }
            }
        } catch (NoSuchFileException | AccessDeniedException exitedOrHidden) {
            return any; // exited: holds nothing; hidden: explains nothing
        } catch (DirectoryIteratorException e) {
            if (!(e.getCause() instanceof NoSuchFileException)) {
                throw e.getCause(); // a thread that exited while its descriptors were listed: skipped
            }
        }
        return any;
    }

    private static boolean isNumber(String name) {
        if (name.isEmpty()) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            if (name.charAt(i) < '0' || name.charAt(i) > '9') {
                return false;
            }
        }
        return true;
    }
}
