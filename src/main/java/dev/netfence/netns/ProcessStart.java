package dev.netfence.netns;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;

/**
 * When a process started, from its {@code /proc/PID/stat} (field 22: clock ticks since boot, in
 * USER_HZ, which Linux fixes at 100 for this file on every architecture netfence runs on) and the
 * boot time in {@code /proc/stat} ({@code btime}, seconds since the epoch): on the node's clock, to
 * tell an event about an earlier instance under a container id from one about the process running
 * now. Empty when either cannot be read (the process gone).
 */
public final class ProcessStart {
    private static final long USER_HZ = 100;

    private ProcessStart() {}

    /**
     * When {@code pid} started, or empty; rounded up (a second past the boot time, which
     * {@code btime} gives in whole seconds, and a tick past the ticks), so it is never before the
     * real start: a caller that takes it as the earliest an event of this process can have occurred errs
     * towards keeping the process's rules.
     */
    public static Optional<Instant> of(Path procRoot, int pid) {
        try {
            String ticks = ticksIn(ProcFile.read(procRoot.resolve(Integer.toString(pid)).resolve("stat")));
            // read each time: btime is the wall clock minus the time since boot, so a step of the clock moves it
            Long boot = bootTime(ProcFile.read(procRoot.resolve("stat"), 1 << 20));
            if (ticks == null || boot == null) {
                return Optional.empty();
            }
            long t = Long.parseLong(ticks);
            return Optional.of(Instant.ofEpochSecond(boot + 1).plusMillis((t + 1) * 1000 / USER_HZ));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * Field 22 of a {@code stat} text, or null when it has fewer fields: the fields after the
     * name's closing parenthesis (the last one: the name is the process's own choice) are
     * separated by single spaces, the first of them field 3.
     */
    public static String ticksIn(String stat) {
        int at = stat.lastIndexOf(')');
        if (at < 0) {
            return null;
        }
        at += 2;
        for (int field = 3; field < 22; field++) {
            int space = stat.indexOf(' ', at);
            if (space < 0) {
                return null;
            }
            at = space + 1;
        }
        int end = stat.indexOf(' ', at);
        String start = stat.substring(Math.min(at, stat.length()), end < 0 ? stat.length() : end).strip();
        return start.isEmpty() ? null : start;
    }

    private static Long bootTime(String stat) {
        for (String line : stat.split("\n")) {
            if (line.startsWith("btime ")) {
                return Long.parseLong(line.substring(6).strip());
            }
        }
        return null;
    }
}
