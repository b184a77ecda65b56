package dev.netfence.netns;

import java.util.ArrayList;
import java.util.List;

/**
 * Decides whether a process's {@code /proc/PID/cgroup} text places it in a given container: the
 * id must equal, whole, the id in a path component that a container runtime writes, never a
 * substring of some path (the old substring test let {@code s} or {@code 0} pass for any process
 * whose cgroup mentions "systemd"). Accepted components, in any line of the file (cgroup v1
 * hierarchies and the v2 {@code 0::} line alike):
 * <ul>
 *   <li>{@code libpod-<id>.scope} and {@code libpod-<id>} (podman: systemd and cgroupfs managers,
 *       e.g. {@code /machine.slice/libpod-<id>.scope}, {@code /libpod_parent/libpod-<id>});</li>
 *   <li>{@code docker-<id>[.scope]} and {@code <id>} right under a {@code docker} component
 *       ({@code /system.slice/docker-<id>.scope}, {@code /docker/<id>});</li>
 *   <li>{@code crio-<id>.scope}, {@code crio-<id>}, {@code cri-containerd-<id>.scope},
 *       {@code cri-containerd-<id>};</li>
 *   <li>{@code <id>} anywhere under a component starting with {@code kubepods}
 *       ({@code /kubepods/burstable/pod<uid>/<id>}).</li>
 * </ul>
 * Ids shorter than {@link #MIN_ID_LENGTH} characters are refused outright: an id that short is
 * no container's full id, and the runtimes all write the full one. A component that names the id
 * below one that names a container already (any id) does not count: a container with a writable
 * cgroup tree (a systemd container) can make {@code libpod-<B>.scope/libpod-<A>.scope} and move its
 * processes there, and they would pass for container A's in every {@code /proc} scan (its decoy
 * search, its capability read); the runtimes nest no container in another.
 */
public final class CgroupMembership {
    /** The shortest container id accepted (docker's short ids are 12 characters). */
    public static final int MIN_ID_LENGTH = 12;
    private static final List<String> PREFIXES = List.of("libpod-", "docker-", "crio-", "cri-containerd-");

    private CgroupMembership() {}

    /** Whether {@code containerId} is long enough to be checked at all. */
    public static boolean acceptableId(String containerId) {
        return containerId != null && containerId.length() >= MIN_ID_LENGTH;
    }

    /** Whether the cgroup file text {@code cgroupFile} names {@code containerId} as a runtime writes it. */
    public static boolean names(String cgroupFile, String containerId) {
        return !containersIn(cgroupFile, containerId).isEmpty();
    }

    /**
     * The container's own cgroup in each line of {@code cgroupFile} that names {@code containerId}
     * as a runtime writes it, in file order: the line's controllers field (empty for the v2
     * {@code 0::} line) and its path cut after the component that names the id. That directory
     * holds the container's processes and any sub-cgroup they were put in
     * ({@code libpod-<id>.scope/container}), whichever cgroup the process itself is in.
     */
    public static List<Match> containersIn(String cgroupFile, String containerId) {
        if (!acceptableId(containerId) || !containerId.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
            return List.of(); // runtimes write ASCII ids; the file is read one char per byte (ProcFile)
        }
        List<Match> found = new ArrayList<>(1);
        // by index, without splitting: this runs on every apply (the pin's check and the capability read)
        for (int line = 0, next; line < cgroupFile.length(); line = next + 1) {
            next = cgroupFile.indexOf('\n', line);
            next = next < 0 ? cgroupFile.length() : next;
            int path = pathColon(cgroupFile, line, next);
            if (path >= 0) {
                int controllers = cgroupFile.indexOf(':', line);
                int end = containerEnd(cgroupFile, path + 1, next, containerId);
                if (end >= 0) {
                    found.add(new Match(cgroupFile.substring(controllers + 1, path), cgroupFile.substring(path + 1, end)));
                }
            }
        }
        return List.copyOf(found);
    }

    /**
     * Whether a line of {@code cgroupFile} names a container other than {@code containerId} (a
     * component that names a container, {@link #namesAContainer}, where the line does not name
     * {@code containerId} first): a process of another container, not one of the host's (an
     * operator's {@code nsenter}, netfence's own children) or of {@code containerId}.
     */
    public static boolean namesAnotherContainer(String cgroupFile, String containerId) {
        for (int line = 0, next; line < cgroupFile.length(); line = next + 1) {
            next = cgroupFile.indexOf('\n', line);
            next = next < 0 ? cgroupFile.length() : next;
            int path = pathColon(cgroupFile, line, next);
            if (path >= 0 && containerEnd(cgroupFile, path + 1, next, acceptableId(containerId) ? containerId : NO_ID)
                    == ANOTHER) {
                return true;
            }
        }
        return false;
    }

    /** Where the line {@code text[line, next)} has the colon before its path (its second), or -1. */
    private static int pathColon(String text, int line, int next) {
        int controllers = text.indexOf(':', line);
        int path = controllers < 0 || controllers >= next ? -1 : text.indexOf(':', controllers + 1);
        return path < next ? path : -1;
    }

    /** One cgroup line's container directory: the line's controllers field and the path up to the id's component. */
    public record Match(String controllers, String path) {}

    /** An id no cgroup path holds: for a look for any container. */
    private static final String NO_ID = "\0";
    /** {@link #containerEnd}: a component naming another container came first. */
    private static final int ANOTHER = -2;

    /**
     * Where (an index into {@code text}) the first component of the path {@code text[from, to)}
     * that names {@code id} ends; {@link #ANOTHER} when one naming another container comes first;
     * -1 when none names a container.
     */
    private static int containerEnd(String text, int from, int to, String id) {
        boolean underKubepods = false;
        boolean afterDocker = false;
        for (int at = from, end; at <= to; at = end + 1) {
            end = text.indexOf('/', at);
            end = end < 0 || end > to ? to : end;
            int length = end - at;
            if ((underKubepods || afterDocker) && length == id.length() && text.startsWith(id, at)) {
                return end;
            }
            for (String prefix : PREFIXES) {
                if (text.startsWith(prefix, at) && text.startsWith(id, at + prefix.length())
                        && (length == prefix.length() + id.length()
                            || length == prefix.length() + id.length() + SCOPE.length()
                                && text.startsWith(SCOPE, at + prefix.length() + id.length()))) {
                    return end;
                }
            }
            if (namesAContainer(text, at, length, underKubepods, afterDocker)) {
                return ANOTHER; // what is below belongs to that container, whatever it is called
            }
            afterDocker = length == DOCKER.length() && text.startsWith(DOCKER, at);
            underKubepods |= text.startsWith(KUBEPODS, at) && length >= KUBEPODS.length();
        }
        return -1;
    }

    /**
     * Whether the component {@code text[at, at + length)} names a container, any container: a
     * runtime's prefix followed by a hexadecimal id of at least {@link #MIN_ID_LENGTH} digits (with
     * or without {@code .scope}; a runtime's {@code conmon-} scope counts too, no container lives
     * below one), or such an id right under {@code docker} or anywhere under {@code kubepods}. A
     * slice an operator named with a runtime's prefix ({@code docker-sandboxes.slice}) is none.
     */
    private static boolean namesAContainer(String text, int at, int length, boolean underKubepods, boolean afterDocker) {
        int end = at + length;
        for (String prefix : PREFIXES) {
            if (text.startsWith(prefix, at)) {
                int from = at + prefix.length();
                int to = end - SCOPE.length() >= from && text.startsWith(SCOPE, end - SCOPE.length()) ? end - SCOPE.length() : end;
                from = text.startsWith(CONMON, from) ? from + CONMON.length() : from;
                return hexId(text, from, to);
            }
        }
        return (afterDocker || underKubepods) && hexId(text, at, end);
    }

    /** Whether {@code text[from, to)} is a hexadecimal id of at least {@link #MIN_ID_LENGTH} digits; no copy (every apply runs this). */
    private static boolean hexId(String text, int from, int to) {
        if (to - from < MIN_ID_LENGTH) {
            return false;
        }
        for (int i = from; i < to; i++) {
            char c = text.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
                return false;
            }
        }
        return true;
    }

    private static final String SCOPE = ".scope";
    private static final String CONMON = "conmon-";
    private static final String DOCKER = "docker";
    private static final String KUBEPODS = "kubepods";
}
