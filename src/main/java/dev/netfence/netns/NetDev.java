package dev.netfence.netns;

import java.io.IOException;
import java.nio.file.Path;

/**
 * What a network namespace's {@code net/dev} says about its interfaces: whether it has any but
 * {@code lo}. The text is two header lines, then one {@code name: counters} line per interface.
 * Only the first {@link #PREFIX} bytes are read: a namespace with only {@code lo} writes far
 * less, so a file that long has other interfaces within it.
 */
public final class NetDev {
    /** How much of {@code net/dev} is read: the two header lines and ≈ 30 interface lines. */
    public static final int PREFIX = 4096;
    private static final Path THREAD_SELF = Path.of("/proc/thread-self/net/dev");

    private NetDev() {}

    /**
     * Whether the namespace the calling thread is in has no interface but {@code lo}, from
     * {@code /proc/thread-self/net/dev} (the calling thread's own namespace; {@code /proc/self}
     * would name the main thread's).
     */
    public static boolean onlyLoopbackHere() throws IOException {
        return onlyLoopback(ProcFile.read(THREAD_SELF, PREFIX));
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
