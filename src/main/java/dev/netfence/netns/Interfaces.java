package dev.netfence.netns;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Whether a network namespace has an interface other than {@code lo}, from a process's
 * {@code /proc/PID/net/dev} (two header lines, then one {@code name: counters} line per
 * interface): the containment check that refuses a pid which moved into a fresh namespace of its
 * own (issue 12 item 7). The file follows the pid's namespace at the time of the read, so a
 * caller confirms afterwards that the pid is still in the namespace it pinned. Only the first
 * {@link #NET_DEV_PREFIX} bytes are read: a namespace with only {@code lo} writes far less, so a
 * file that long has other interfaces within it.
 */
public final class Interfaces {
    /** How much of {@code net/dev} is read: the two header lines and ≈ 30 interface lines. */
    public static final int NET_DEV_PREFIX = 4096;

    private Interfaces() {}

    /**
     * Whether the namespace {@code procPid} (a {@code /proc/PID} directory) is in has only
     * {@code lo}; NoSuchFileException when the pid is gone. A first read that names another
     * interface decides (one {@code read} fewer on every apply); only {@code lo} so far, the file is
     * read again to its end or the prefix.
     */
    public static boolean onlyLoopback(Path procPid) throws IOException {
        Path dev = procPid.resolve("net/dev");
        return onlyLoopback(ProcFile.readFirst(dev, NET_DEV_PREFIX)) && onlyLoopback(ProcFile.read(dev, NET_DEV_PREFIX));
    }

    /** Whether a {@code net/dev} text (or a prefix of one) names no interface but {@code lo}. */
    public static boolean onlyLoopback(String dev) {
        int at = 0;
        for (int header = 0; header < 2 && at < dev.length(); header++) {
            int end = dev.indexOf('\n', at);
            at = end < 0 ? dev.length() : end + 1;
        }
        while (at < dev.length()) {
            int end = dev.indexOf('\n', at);
            end = end < 0 ? dev.length() : end;
            int colon = dev.indexOf(':', at);
            if (colon > at && colon < end && !dev.substring(at, colon).strip().equals("lo")) {
                return false;
            }
            at = end + 1;
        }
        return true;
    }
}
