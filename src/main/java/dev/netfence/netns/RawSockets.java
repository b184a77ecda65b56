package dev.netfence.netns;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Whether a container holds a socket only CAP_NET_RAW can make, of its network namespace: the
 * kernel checks the capability only when such a socket is made, so a workload that made one and
 * then dropped the capability from every set keeps what it gives; it counts as holding CAP_NET_RAW
 * ({@link ContainerCapabilities}). Three kinds: AF_PACKET and AF_XDP sockets, whose frames skip
 * the namespace's OUTPUT and POSTROUTING hooks (an AF_XDP socket in copy mode skips its qdiscs
 * too), and raw IP sockets, whose packets pass OUTPUT but carry any protocol (IPIP, GRE) and
 * header the workload writes. One read of a member pid's {@code net/protocols} counts the
 * namespace's sockets of each protocol, in flight and in io_uring tables included (the common
 * case: none). Any AF_XDP socket counts: the kernel lists them nowhere netfence can read whom they
 * belong to ({@code xsk_diag} is often not built). For the others the namespace's listings
 * ({@code net/packet}, {@code net/raw}, {@code net/raw6}) give their inodes, and a socket counts
 * unless it is explained: it counts at once when one of the container's processes holds it
 * ({@code fd/*} links to {@code socket:[INODE]}, each process once, by its {@code Tgid}); it does
 * not count when only processes outside the container in the same namespace hold it (an
 * operator's {@code nsenter ... tcpdump} or {@code ping}, a pod co-member's), found by a walk of
 * {@code /proc} done only then, where a holder whose cgroup names the container (one forked since
 * the threads were listed), or cannot be read, makes it count; a socket nobody in the namespace
 * visibly holds counts too (one parked in flight in a unix socket's queue, in an io_uring's file
 * table, or passed to a host process outside the namespace, a bus daemon, which the workload can
 * take back). Without a container id, where the pid's cgroup does not name it, or with a listing
 * longer than {@link ProcFile#LIMIT}, any listed socket counts. A process whose descriptors
 * netfence may not list explains nothing; one that exited is skipped. The walk runs within the
 * read's budget ({@link ReadBudget}): a host of many processes, or a workload
 * that keeps the namespace's processes many, fails the read rather than stall it.
 */
final class RawSockets {
    /** The listing of each counted protocol's sockets, and the column of a line that holds its inode. */
    private static final Map<String, Listing> LISTINGS = Map.of("PACKET", new Listing("net/packet", -1),
            "RAW", new Listing("net/raw", 9), "RAWv6", new Listing("net/raw6", 9));

    private record Listing(String file, int column) {}

    private RawSockets() {}

    /**
     * Whether the container {@code containerId} (null: not known), whose threads {@code tids} were
     * just read, holds, or may hold, a socket only CAP_NET_RAW makes, of {@code pid}'s namespace;
     * IOException when {@code budget} runs out first, or the namespace's sockets cannot be counted.
     */
    static boolean heldBy(Path procRoot, int pid, String containerId, Collection<String> tids,
            ReadBudget budget) throws IOException {
        Map<String, Long> counted = counted(procRoot, pid);
        if (counted.getOrDefault("XDP", 0L) > 0) {
            return true; // whose it is cannot be told
        }
        Set<String> unexplained = new HashSet<>();
        for (Map.Entry<String, Listing> kind : LISTINGS.entrySet()) {
            if (counted.getOrDefault(kind.getKey(), 0L) > 0
                    && !listed(procRoot, pid, kind.getValue().file(), kind.getValue().column(), unexplained)) {
                return true; // too long a listing to judge: counted
            }
        }
        if (unexplained.isEmpty()) {
            return false;
        }
        if (containerId == null || mayBeOf(procRoot.resolve(Integer.toString(pid)), containerId) != Boolean.TRUE) {
            return true; // no container to tell its processes from others by (no id, or a cgroup not naming it): counted
        }
        Set<String> processes = new HashSet<>();
        for (String tid : tids) {
            String tgid = tgidOf(procRoot, tid);
            if (tgid != null && processes.add(tgid)) {
                if (explains(procRoot.resolve(tgid).resolve("fd"), unexplained, budget)) {
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
                if (processes.contains(process.getFileName().toString()) || !in(process, ns)) {
                    continue;
                }
                // its cgroup first: a holder that exits after its descriptors were read must not count as one
                // whose cgroup cannot be read; one that exits before explains nothing (its descriptors are gone)
                Boolean ofContainer = mayBeOf(process, containerId);
                if (explains(process.resolve("fd"), unexplained, budget)) {
                    if (ofContainer != Boolean.FALSE) {
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

    /**
     * The namespace's sockets by protocol name (the {@code sockets} column of {@code pid}'s
     * {@code net/protocols}, where a protocol may have several lines: added up); IOException when
     * the file does not have the columns expected.
     */
    static Map<String, Long> counted(Path procRoot, int pid) throws IOException {
        String text;
        try {
            text = ProcFile.read(procRoot.resolve(Integer.toString(pid)).resolve("net/protocols"));
        } catch (NoSuchFileException leaderGone) { // a leader that exited while its threads run: through one of them
            try {
                text = ProcFile.read(ProcTasks.view(procRoot, pid).resolve("net/protocols"));
            } catch (NoSuchFileException e) {
                if (Files.isDirectory(procRoot.resolve(Integer.toString(pid)))) {
                    throw new IOException("pid " + pid + " has no net/protocols, so its raw sockets cannot be counted", e);
                }
                throw e; // gone
            }
        }
        int eol = lineEnd(text, 0);
        List<String> header = fields(text, 0, eol, 3);
        if (header.size() < 3 || !header.get(0).equals("protocol") || !header.get(2).equals("sockets")
                || text.length() >= ProcFile.LIMIT) {
            throw new IOException("the net/protocols of pid " + pid + " does not count sockets by protocol as"
                    + " expected, so its raw sockets cannot be counted");
        }
        Map<String, Long> counted = new HashMap<>();
        for (int from = eol + 1, end; from < text.length(); from = end + 1) {
            end = lineEnd(text, from);
            List<String> fields = fields(text, from, end, 3);
            if (fields.size() >= 3) {
                try {
                    counted.merge(fields.get(0), Long.parseLong(fields.get(2)), Long::sum);
                } catch (NumberFormatException e) {
                    throw new IOException("the net/protocols of pid " + pid + " has a line without a socket count: "
                            + text.substring(from, end).strip());
                }
            }
        }
        return counted;
    }

    private static boolean in(Path process, NamespaceId ns) {
        try {
            return ns.equals(NamespaceId.of(process.resolve("ns/net")));
        } catch (IOException | RuntimeException gone) {
            return false;
        }
    }

    /**
     * Whether {@code process} is one of container {@code containerId}'s (its cgroup names it):
     * null when its cgroup cannot be read (gone, or hidden), which callers count against it.
     */
    private static Boolean mayBeOf(Path process, String containerId) {
        try {
            return !CgroupMembership.containersIn(ProcFile.read(process.resolve("cgroup")), containerId).isEmpty();
        } catch (IOException | RuntimeException unreadable) {
            return null;
        }
    }

    /**
     * Adds the socket inodes the listing {@code file} of {@code pid}'s namespace names (column
     * {@code column} of a line, -1 the last) to {@code into}; false when the listing is longer
     * than the read limit or cannot be read (called only when the namespace counts such sockets).
     */
    private static boolean listed(Path procRoot, int pid, String file, int column, Set<String> into) throws IOException {
        String text;
        try {
            text = ProcFile.read(procRoot.resolve(Integer.toString(pid)).resolve(file));
        } catch (NoSuchFileException leaderGone) {
            try {
                text = ProcFile.read(ProcTasks.view(procRoot, pid).resolve(file));
            } catch (NoSuchFileException none) {
                // the count says there are such sockets, so the family exists: a listing that cannot be
                // read now (the thread read through exited meanwhile) cannot tell them apart, so they count
                return false;
            }
        }
        if (text.length() >= ProcFile.LIMIT) {
            return false;
        }
        for (int from = lineEnd(text, 0) + 1, end; from < text.length(); from = end + 1) {
            end = lineEnd(text, from);
            List<String> fields = fields(text, from, end, column < 0 ? Integer.MAX_VALUE : column + 1);
            if (fields.size() > Math.max(column, 0)) {
                into.add(fields.get(column < 0 ? fields.size() - 1 : column));
            }
        }
        return true;
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

    /** Removes from {@code inodes} those {@code fds} links to; whether it removed any. Within {@code budget}. */
    private static boolean explains(Path fds, Set<String> inodes, ReadBudget budget)
            throws IOException {
        boolean any = false;
        int read = 0;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(fds)) {
            for (Path fd : entries) {
                if (++read % 1024 == 0) {
                    budget.check(read); // a process of a million descriptors
                }
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

    /** Where the line starting at {@code from} ends: its newline, or the end of {@code text}. */
    private static int lineEnd(String text, int from) {
        int end = text.indexOf('\n', from);
        return end < 0 ? text.length() : end;
    }

    /**
     * The first {@code max} fields of {@code text} from {@code from} to {@code to} separated by
     * whitespace (what {@code strip().split("\\s+")} gives, cut to {@code max}, without a regular
     * expression compiled per line or the columns not asked for: a {@code net/protocols} of
     * twenty-odd columns split that way was ≈ 100 µs of every capability read).
     */
    static List<String> fields(String text, int from, int to, int max) {
        List<String> fields = new ArrayList<>(Math.min(max, 16));
        int i = from;
        while (i < to && fields.size() < max) {
            while (i < to && Character.isWhitespace(text.charAt(i))) {
                i++;
            }
            int start = i;
            while (i < to && !Character.isWhitespace(text.charAt(i))) {
                i++;
            }
            if (i > start) {
                fields.add(text.substring(start, i));
            }
        }
        return fields;
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
