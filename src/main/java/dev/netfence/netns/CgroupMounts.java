package dev.netfence.netns;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Where netfence sees each cgroup hierarchy, parsed from its own {@code /proc/self/mountinfo}:
 * maps a line of a process's {@code /proc/PID/cgroup} (controllers field, path) to the directory
 * of that cgroup in this mount namespace. The v2 line ({@code 0::PATH}) maps to a {@code cgroup2}
 * mount; a v1 line ({@code 4:memory:PATH}, {@code 9:name=systemd:PATH}) to a {@code cgroup} mount
 * whose super options hold every one of its controllers. A mount of a sub-tree (its root field is
 * not {@code /}) maps only the paths under that root. Plain data, immutable.
 */
final class CgroupMounts {
    private record Mount(String root, Path mountPoint, boolean v2, Set<String> options) {}

    private final List<Mount> mounts;

    private CgroupMounts(List<Mount> mounts) {
        this.mounts = List.copyOf(mounts);
    }

    /** The cgroup mounts in a {@code mountinfo} text; other lines are ignored. */
    static CgroupMounts parse(String mountinfo) {
        List<Mount> found = new ArrayList<>();
        for (String line : mountinfo.split("\n")) {
            String[] f = line.split(" ");
            int dash = Arrays.asList(f).indexOf("-");
            if (dash < 5 || f.length < dash + 4) {
                continue;
            }
            String type = f[dash + 1];
            if (type.equals("cgroup2") || type.equals("cgroup")) {
                found.add(new Mount(unescape(f[3]), Path.of(unescape(f[4])), type.equals("cgroup2"),
                        Set.of(f[dash + 3].split(","))));
            }
        }
        return new CgroupMounts(found);
    }

    /** The directories of the cgroup {@code path} of the hierarchy a cgroup line's {@code controllers} field names, in mount order. */
    List<Path> directories(String controllers, String path) {
        List<Path> out = new ArrayList<>(1);
        for (Mount m : mounts) {
            boolean hierarchy = controllers.isEmpty() ? m.v2() : !m.v2() && holdsAll(m.options(), controllers);
            String relative = hierarchy ? under(m.root(), path) : null;
            if (relative != null) {
                out.add(relative.isEmpty() ? m.mountPoint() : m.mountPoint().resolve(relative));
            }
        }
        return out;
    }

    /** Whether {@code options} holds every comma-separated name of {@code controllers}. */
    private static boolean holdsAll(Set<String> options, String controllers) {
        for (int from = 0, end; from <= controllers.length(); from = end + 1) {
            end = controllers.indexOf(',', from);
            end = end < 0 ? controllers.length() : end;
            if (!options.contains(controllers.substring(from, end))) {
                return false;
            }
        }
        return true;
    }

    /** {@code path} relative to {@code root} (without a leading slash) when it is {@code root} or below it, else null. */
    private static String under(String root, String path) {
        String base = root.endsWith("/") ? root : root + "/";
        String full = path.endsWith("/") ? path : path + "/";
        if (!full.startsWith(base) || path.contains("/../") || path.endsWith("/..")) {
            return null;
        }
        String rest = full.substring(base.length());
        return rest.endsWith("/") ? rest.substring(0, rest.length() - 1) : rest;
    }

    /** mountinfo writes space, tab, newline and backslash in paths as {@code \ooo} octal escapes. */
    static String unescape(String field) {
        if (field.indexOf('\\') < 0) {
            return field;
        }
        StringBuilder out = new StringBuilder(field.length());
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c == '\\' && isOctal(field, i + 1)) {
                out.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    private static boolean isOctal(String s, int from) {
        for (int i = from; i < from + 3; i++) {
            if (i >= s.length() || s.charAt(i) < '0' || s.charAt(i) > '7') {
                return false;
            }
        }
        return true;
    }
}
