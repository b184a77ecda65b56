package dev.netfence.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Samples the CPU time (user + system, from {@code /proc/PID/stat}) of a process against the
 * wall clock, so the CPU it spent between two record timestamps can be read afterwards: how much
 * CPU per event netfence spends in the window an events-per-second figure is taken over. A rate
 * on a shared machine depends on what else runs; CPU per event much less, so this is what tells
 * where netfence spends more than a floor. Call {@link #sample()} often (each poll of a reader).
 */
final class CpuSampler {
    private static final double MS_PER_TICK = 10.0; // USER_HZ is 100 on Linux
    private final Path stat;
    private final List<long[]> samples = new ArrayList<>();

    CpuSampler(long pid) {
        this.stat = Path.of("/proc", Long.toString(pid), "stat");
    }

    /** Records the process's CPU ticks now; ignored once the process is gone. */
    void sample() {
        try {
            String s = Files.readString(stat);
            String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
            samples.add(new long[] {System.currentTimeMillis(), Long.parseLong(f[11]) + Long.parseLong(f[12])});
        } catch (IOException | RuntimeException e) {
            // gone: keep what was sampled
        }
    }

    /** CPU milliseconds spent between wall-clock {@code fromMs} and {@code toMs} (linear between samples), or NaN. */
    double cpuMsBetween(long fromMs, long toMs) {
        double a = ticksAt(fromMs);
        double b = ticksAt(toMs);
        return Double.isNaN(a) || Double.isNaN(b) ? Double.NaN : (b - a) * MS_PER_TICK;
    }

    private double ticksAt(long ms) {
        for (int i = 1; i < samples.size(); i++) {
            long[] p = samples.get(i - 1);
            long[] q = samples.get(i);
            if (p[0] <= ms && ms <= q[0]) {
                return q[0] == p[0] ? q[1] : p[1] + (q[1] - p[1]) * (double) (ms - p[0]) / (q[0] - p[0]);
            }
        }
        return Double.NaN;
    }
}
