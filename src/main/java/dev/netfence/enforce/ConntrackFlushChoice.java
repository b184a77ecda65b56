package dev.netfence.enforce;

import dev.netfence.netns.CommandRunner;
import dev.netfence.netns.ConntrackFlusher;
import dev.netfence.netns.ConntrackToolFlusher;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.nft.NetlinkConntrackFlusher;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connection-tracking flush of the backends that write with processes (iptables, nft-process;
 * the in-process nft backend flushes inside its own apply trip), chosen at the first flush and
 * remembered: in-process over netlink ({@link NetlinkConntrackFlusher}, no process per apply)
 * when netfence runs on the real {@code /proc} and JNA loads libc, otherwise the {@code conntrack}
 * tool ({@link ConntrackToolFlusher}), with the reason logged once (the tool flushes connection
 * tracking only: the in-process flush also removes the routes the namespace learned before the
 * apply, see {@code nft.ConntrackFlush}). Either way a flush that fails
 * fails the apply (FIREWALL_UNAVAILABLE or TIMEOUT), so nothing is reported applied while a flow
 * opened before it may still pass; a flush that cannot run in-process is never skipped.
 */
final class ConntrackFlushChoice implements ConntrackFlusher {
    private static final Logger LOG = LoggerFactory.getLogger(ConntrackFlushChoice.class);

    private final Path procRoot;
    private final CommandRunner runner;
    private volatile ConntrackFlusher chosen;

    ConntrackFlushChoice(Path procRoot, CommandRunner runner) {
        this.procRoot = Objects.requireNonNull(procRoot, "procRoot");
        this.runner = Objects.requireNonNull(runner, "runner");
    }

    @Override
    public void flush(PinnedNamespace ns, Duration timeout) {
        chosen().flush(ns, timeout);
    }

    /** The flusher in use, chosen now if no flush ran yet. */
    ConntrackFlusher chosen() {
        ConntrackFlusher known = chosen;
        if (known == null) {
            synchronized (this) {
                known = chosen;
                if (known == null) {
                    known = choose();
                    chosen = known;
                }
            }
        }
        return known;
    }

    private ConntrackFlusher choose() {
        if (!procRoot.equals(Path.of("/proc"))) {
            LOG.info("connection-tracking flush: the conntrack tool (in-process needs the real /proc, the proc root is {});"
                    + " the routes a namespace learned before its apply are not removed", procRoot);
            return new ConntrackToolFlusher(runner);
        }
        try {
            NetlinkConntrackFlusher flusher = NetlinkConntrackFlusher.shared();
            LOG.debug("connection-tracking flush: in-process (netlink)");
            return flusher;
        } catch (LinkageError | Exception e) {
            LOG.warn("connection-tracking flush: the conntrack tool, one process per apply (in-process failed: {}); the"
                    + " routes a namespace learned before its apply (cached IPv4 routes, what IPv6 router advertisements and"
                    + " redirects taught it) are not removed", e.toString());
            return new ConntrackToolFlusher(runner);
        }
    }
}
