package dev.netfence.netns;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Collection;
import java.util.HashSet;
import java.util.Set;

/**
 * Whether a container holds an AF_PACKET socket in its network namespace: the kernel checks
 * CAP_NET_RAW only when such a socket is made, so a workload that made one and then dropped the
 * capability from every set still sends frames through it that skip the OUTPUT chain; it counts
 * as holding CAP_NET_RAW ({@link ContainerCapabilities}). The namespace's packet sockets are the
 * lines of a member pid's {@code net/packet} (one read, which finds none in the common case);
 * only when there are some are the descriptors of the container's threads looked at
 * ({@code fd/*} links {@code socket:[INODE]}), so that a socket someone else holds in the
 * namespace (an operator's {@code nsenter ... tcpdump}, a pod co-member's) does not count. A
 * thread whose descriptors netfence may not list counts (fail closed); one that exited is skipped.
 * No {@code net/packet} at all: the kernel has no packet sockets.
 */
final class PacketSockets {
    private PacketSockets() {}

    /** Whether any of {@code tids} holds a packet socket of the namespace {@code pid} is in. */
    static boolean heldBy(Path procRoot, int pid, Collection<String> tids) throws IOException {
        Set<String> inodes = inodes(procRoot, pid);
        if (inodes.isEmpty()) {
            return false;
        }
        for (String tid : tids) {
            if (holds(procRoot.resolve(tid).resolve("fd"), inodes)) {
                return true;
            }
        }
        return false;
    }

    /** The socket inodes the {@code net/packet} of {@code pid}'s namespace lists (its last column). */
    static Set<String> inodes(Path procRoot, int pid) throws IOException {
        String packet;
        try {
            packet = readWhole(procRoot.resolve(Integer.toString(pid)).resolve("net/packet"));
        } catch (NoSuchFileException leaderGone) { // a leader that exited while its threads run: through one of them
            try {
                packet = readWhole(ProcTasks.view(procRoot, pid).resolve("net/packet"));
            } catch (NoSuchFileException none) {
                return Set.of(); // no packet family in this kernel (its module not loaded): no such socket
            }
        }
        Set<String> inodes = new HashSet<>();
        String[] lines = packet.split("\n");
        for (int i = 1; i < lines.length; i++) {
            String line = lines[i].strip();
            if (!line.isEmpty()) {
                inodes.add(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return inodes;
    }

    /** One read for the header alone (the common case: no packet socket), the file up to its limit otherwise. */
    private static String readWhole(Path file) throws IOException {
        String first = ProcFile.readFirst(file, ProcFile.LIMIT);
        int header = first.indexOf('\n');
        return header < 0 || header + 1 == first.length() ? first : ProcFile.read(file);
    }

    private static boolean holds(Path fds, Set<String> inodes) throws IOException {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(fds)) {
            for (Path fd : entries) {
                String target;
                try {
                    target = Files.readSymbolicLink(fd).toString();
                } catch (NoSuchFileException closed) {
                    continue;
                }
                if (target.startsWith("socket:[") && target.endsWith("]")
                        && inodes.contains(target.substring(8, target.length() - 1))) {
                    return true;
                }
            }
            return false;
        } catch (NoSuchFileException exited) {
            return false;
        } catch (AccessDeniedException refused) {
            return true; // what it holds cannot be seen: counted, as a capability that cannot be read would fail the read
        }
    }
}
