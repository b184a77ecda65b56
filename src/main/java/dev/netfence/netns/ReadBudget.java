package dev.netfence.netns;

import java.io.IOException;
import java.util.function.LongSupplier;

/**
 * The time one read of a container's capabilities may take ({@link #READ_BUDGET_NANOS}), from
 * when it was made: {@link #check} fails the read once it has run out. Shared by the thread reads
 * of {@link ContainerCapabilities} and {@link RawSockets}. It bounds the reading thread's CPU
 * time, which is what the kernel's rendering of the {@code /proc} files costs (a container of
 * thousands of threads each given a long {@code Groups:} line), and the wall's at
 * {@link #WALL_FACTOR} times as long, so that a read neither holds a namespace's write turn and a
 * correction thread for seconds nor goes on for ever while it waits for the CPU. A class of its
 * own so that both readers share one bound, and the capability reader keeps to what it reads.
 */
final class ReadBudget {
    /**
     * How much of its thread's CPU one whole read may take before it fails (an ordinary status
     * reads in ≈ 15-20 µs here), and {@link #WALL_FACTOR} times as much wall time; see
     * {@link ContainerCapabilities}.
     */
    static final long READ_BUDGET_NANOS = 1_000_000_000L;
    /** How many times {@link #READ_BUDGET_NANOS} of wall time a read may take. */
    static final int WALL_FACTOR = 5;

    private static final java.lang.management.ThreadMXBean THREADS =
            java.lang.management.ManagementFactory.getThreadMXBean();

    private final LongSupplier cpuTime;
    private final LongSupplier nanoTime;
    private final long cpuStart;
    private final long start;
    private final String what;

    /** A budget whose time is {@code nanoTime}'s, on both of its counts (tests). */
    ReadBudget(LongSupplier nanoTime, String what) {
        this(nanoTime, nanoTime, what);
    }

    /**
     * {@code cpuTime}: the reading thread's CPU time, user and system (the kernel's rendering of
     * the files is what the budget bounds); {@code nanoTime}: the wall, bounded at
     * {@link #WALL_FACTOR} times as long, so a node whose CPU other tenants take does not fail
     * the read of an ordinary container, and a read that waits does not go on for ever.
     */
    ReadBudget(LongSupplier cpuTime, LongSupplier nanoTime, String what) {
        this.cpuTime = cpuTime;
        this.nanoTime = nanoTime;
        this.cpuStart = cpuTime.getAsLong();
        this.start = nanoTime.getAsLong();
        this.what = what;
    }

    /** IOException when the read has taken longer than its budget; {@code done}: how many threads or processes it read so far. */
    void check(int done) throws IOException {
        if (cpuTime.getAsLong() - cpuStart > READ_BUDGET_NANOS
                || nanoTime.getAsLong() - start > READ_BUDGET_NANOS * WALL_FACTOR) {
            throw new IOException("reading the capabilities of " + what + " took longer than "
                    + READ_BUDGET_NANOS / 1_000_000 + " ms (" + done + " threads or processes read), so they"
                    + " cannot be vouched for");
        }
    }

    /** The calling thread's CPU time in nanoseconds, or the wall's where the JVM does not measure it. */
    static long threadCpuNanos() {
        long cpu = THREADS.isCurrentThreadCpuTimeSupported() ? THREADS.getCurrentThreadCpuTime() : -1;
        return cpu >= 0 ? cpu : System.nanoTime();
    }
}
