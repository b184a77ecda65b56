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
 *   <li>{@code docker-<id>.scope} and {@code <id>} right under a {@code docker} component
 *       ({@code /system.slice/docker-<id>.scope}, {@code /docker/<id>});</li>
 *   <li>{@code crio-<id>.scope}, {@code crio-<id>}, {@code cri-containerd-<id>.scope},
 *       {@code cri-containerd-<id>};</li>
 *   <li>{@code <id>} anywhere under a component starting with {@code kubepods}
 *       ({@code /kubepods/burstable/pod<uid>/<id>}).</li>
 * </ul>
 * Ids shorter than {@link #MIN_ID_LENGTH} characters are refused outright: an id that short is
 * no container's full id, and the runtimes all write the full one.
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
        for (String line : cgroupFile.split("\n")) {
            int controllers = line.indexOf(':');
            int path = line.indexOf(':', controllers + 1);
            if (controllers >= 0 && path >= 0) {
                int end = containerEnd(line.substring(path + 1), containerId);
                if (end >= 0) {
                    found.add(new Match(line.substring(controllers + 1, path), line.substring(path + 1, path + 1 + end)));
                }
            }
        }
        return List.copyOf(found);
    }

    /** One cgroup line's container directory: the line's controllers field and the path up to the id's component. */
    public record Match(String controllers, String path) {}

    /** Where the first component of {@code path} that names {@code id} ends, or -1. */
    private static int containerEnd(String path, String id) {
        String[] components = path.split("/", -1);
        boolean underKubepods = false;
        int end = -1;
        for (int i = 0; i < components.length; i++) {
            String c = components[i];
            end += 1 + c.length();
            if (underKubepods && c.equals(id)) {
                return end;
            }
            if (c.equals(id) && i > 0 && components[i - 1].equals("docker")) {
                return end;
            }
            for (String prefix : PREFIXES) {
                if (c.equals(prefix + id) || c.equals(prefix + id + ".scope")) {
                    return end;
                }
            }
            underKubepods |= c.startsWith("kubepods");
        }
        return -1;
    }
}
