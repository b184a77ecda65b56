package dev.netfence.netns;

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
        if (!acceptableId(containerId) || !containerId.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
            return false; // runtimes write ASCII ids; the file is read one char per byte (ProcFile)
        }
        for (String line : cgroupFile.split("\n")) {
            int path = line.indexOf(':', line.indexOf(':') + 1);
            if (path >= 0 && pathNames(line.substring(path + 1), containerId)) {
                return true;
            }
        }
        return false;
    }

    private static boolean pathNames(String path, String id) {
        String[] components = path.split("/");
        boolean underKubepods = false;
        for (int i = 0; i < components.length; i++) {
            String c = components[i];
            if (underKubepods && c.equals(id)) {
                return true;
            }
            if (c.equals(id) && i > 0 && components[i - 1].equals("docker")) {
                return true;
            }
            for (String prefix : PREFIXES) {
                if (c.equals(prefix + id) || c.equals(prefix + id + ".scope")) {
                    return true;
                }
            }
            underKubepods |= c.startsWith("kubepods");
        }
        return false;
    }
}
