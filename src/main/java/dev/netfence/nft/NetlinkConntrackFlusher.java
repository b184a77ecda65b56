package dev.netfence.nft;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.netns.ConntrackFlusher;
import dev.netfence.netns.OwnNamespace;
import dev.netfence.netns.PinnedNamespace;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * The connection-tracking flush of the backends that write their rules with processes
 * ({@code iptables-nft}, {@code iptables-legacy}, {@code nft-process}), done in-process: one trip
 * of a namespace thread ({@link NamespaceThreads}: {@code setns} into the pin, checked by inode,
 * and home again) that sends the one ctnetlink delete-all message of {@link ConntrackFlush}, the
 * same message the in-process nft backend sends at the end of its apply trip and
 * {@code conntrack -F} sends, then forgets the routes the namespace learned (cached IPv4 routes;
 * what IPv6 router advertisements and redirects taught it: {@link Ipv6LearntFlush}). No process
 * is started, where the {@code conntrack} tool (which does neither of the latter) costs one
 * {@code nsenter} + {@code conntrack} process per apply. Needs libc through JNA and netfence's own
 * namespace held, not libnftables, so it works on a host that has only iptables. A flush the
 * kernel refuses is FIREWALL_UNAVAILABLE (not retried: the apply must not be reported applied
 * while an earlier flow may still pass); no free namespace thread before the timeout is TIMEOUT.
 */
public final class NetlinkConntrackFlusher implements ConntrackFlusher, AutoCloseable {
    /** The flush trip is tens of microseconds and never blocks: two threads serve every worker. */
    static final int THREADS = 2;

    private static NetlinkConntrackFlusher shared;

    private final OwnNamespace home;
    private final NamespaceThreads threads;

    private NetlinkConntrackFlusher(NativeCalls natives, OwnNamespace home, int threads) {
        this.home = home;
        this.threads = new NamespaceThreads(natives, home, threads);
    }

    /**
     * The process's one flusher ({@link #start} with {@code /proc}, the first time it is asked
     * for): its namespace threads and held home namespace belong to the process. Never closed; its
     * threads are daemons. Throws like {@link #start}, and a failed start is not remembered.
     */
    public static synchronized NetlinkConntrackFlusher shared() throws IOException {
        if (shared == null) {
            shared = start(Path.of("/proc"), THREADS);
        }
        return shared;
    }

    /**
     * Loads libc and starts {@code threads} namespace threads; {@link LinkageError} when JNA or
     * libc cannot be loaded, {@link IOException} when netfence's own namespace cannot be held.
     */
    public static NetlinkConntrackFlusher start(Path procRoot, int threads) throws IOException {
        NativeCalls natives = NativeCalls.loadLibc();
        OwnNamespace home = OwnNamespace.hold(procRoot);
        try {
            return new NetlinkConntrackFlusher(natives, home, threads);
        } catch (RuntimeException e) {
            home.close();
            throw e;
        }
    }

    /** The namespace threads, for other short trips that need libc only ({@link InNamespaceChecksumOffload}). */
    NamespaceThreads threads() {
        return threads;
    }

    @Override
    public void flush(PinnedNamespace ns, Duration timeout) {
        Objects.requireNonNull(ns, "ns");
        Instant deadline = dev.netfence.core.SteadyClock.system().instant().plus(timeout); // the threads' timeline
        int errno = threads.run(ns.descriptor(), ns.path(), ns.id(), deadline, n -> ConntrackFlush.flush(n));
        if (errno != 0) {
            throw new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE,
                    "flushing connection tracking and learnt IPv6 routes in " + ns + " failed: errno " + errno);
        }
    }

    @Override
    public void close() throws IOException {
        threads.close();
        home.close();
    }
}
