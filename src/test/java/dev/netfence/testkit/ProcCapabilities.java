package dev.netfence.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What a test sees of a process's capability sets in {@code /proc/PID/status}, to check that a
 * workload it started holds (or hid) a capability where it meant to, independently of
 * netfence's own reading ({@code netns.Capabilities}).
 */
public final class ProcCapabilities {
    private ProcCapabilities() {}

    /** Whether the {@code set} line of {@code pid}'s status ({@code "CapEff"}, {@code "CapPrm"}, ...) has capability {@code bit}. */
    public static boolean holds(long pid, String set, int bit) throws IOException {
        String prefix = set + ":";
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith(prefix)) {
                return (Long.parseUnsignedLong(line.substring(prefix.length()).strip(), 16) & (1L << bit)) != 0;
            }
        }
        throw new IllegalStateException("no " + set + " line in the status of pid " + pid);
    }
}
