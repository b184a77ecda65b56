package dev.netfence.enforce;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.netns.ChecksumOffload;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.nft.InNamespaceChecksumOffload;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Before the host guard is claimed for a container that holds CAP_NET_RAW or CAP_NET_ADMIN (its
 * own read, or a member's of its namespace): transmit checksum offload is turned off inside its
 * namespace ({@link ChecksumOffload} says why: such a workload can have the host write two bytes
 * of its choosing into a frame after the guard judged it). Where that cannot be done the guard is
 * not claimed, and the reason says why. A container holding neither cannot send a frame whose
 * checksum position it chose, so its offload, and the throughput that depends on it, is left
 * alone. A workload holding CAP_NET_ADMIN can turn offload on again (or, with CAP_BPF, hand a
 * frame to the host side past its veth's transmit path): offload is turned off all the same, and
 * the guard is not claimed. The in-process switch is chosen at first use when netfence runs on the real
 * {@code /proc} and JNA loads libc, else none is available.
 */
final class ChecksumCompletion {
    private static final Logger LOG = LoggerFactory.getLogger(ChecksumCompletion.class);
    /** What turning it off may take at most, inside the apply's deadline. */
    static final Duration TIMEOUT = Duration.ofSeconds(5);

    private final Path procRoot;
    private volatile ChecksumOffload chosen;
    private volatile String unavailable;

    ChecksumCompletion(Path procRoot) {
        this.procRoot = Objects.requireNonNull(procRoot, "procRoot");
    }

    /** With {@code offload} as the switch (tests). */
    ChecksumCompletion(ChecksumOffload offload) {
        this.procRoot = Path.of("/proc");
        this.chosen = Objects.requireNonNull(offload, "offload");
    }

    /**
     * Null when the host guard of the container in {@code ns}, whose namespace's members hold
     * {@code risks}, may be claimed as far as checksums go; otherwise why not. TIMEOUT when the
     * deadline passes first.
     */
    String notHeld(PinnedNamespace ns, List<String> risks, Deadline deadline) {
        if (!needed(risks)) {
            return null;
        }
        ChecksumOffload offload = chosen();
        if (offload == null) {
            return "transmit checksum offload cannot be turned off in the container's namespace ("
                    + (unavailable != null ? unavailable : "netfence's namespace threads cannot be started now")
                    + "), and a workload holding CAP_NET_RAW or CAP_NET_ADMIN can have the host complete a checksum at a"
                    + " position it chose, after the host guard judged the frame";
        }
        ChecksumOffload.Switched done;
        try {
            done = offload.turnOff(ns, deadline.cap(TIMEOUT, "turning off transmit checksum offload"));
        } catch (EnforcementException e) {
            if (e.code() == ErrorCode.TIMEOUT) {
                throw e;
            }
            return "transmit checksum offload could not be turned off in the container's namespace (" + e.getMessage()
                    + ")";
        }
        if (!done.switched().isEmpty()) {
            LOG.info("transmit checksum offload turned off on {} in the namespace of pid {} (the container holds"
                    + " CAP_NET_RAW or CAP_NET_ADMIN, or a member of its namespace does)", done.switched(), ns.pid());
        }
        if (!done.stuck().isEmpty()) {
            return "transmit checksum offload stays on for " + dev.netfence.core.Printable.escape(done.stuck().toString())
                    + " in the container's namespace (the device does not let it be turned off), and a workload holding"
                    + " CAP_NET_RAW or CAP_NET_ADMIN can have the host complete a checksum at a position it chose, after"
                    + " the host guard judged the frame";
        }
        return risks.contains("CAP_NET_ADMIN") ? NET_ADMIN : null;
    }

    /** Why the host guard is not claimed for a namespace where CAP_NET_ADMIN is held, though offload was turned off. */
    static final String NET_ADMIN = "a member of the container's namespace holds CAP_NET_ADMIN, with which it can turn"
            + " transmit checksum offload on again (or send past its veth's transmit path) and have the host complete a"
            + " checksum at a position it chose, after the host guard judged the frame";

    /** Whether a namespace whose members hold {@code risks} has its offload turned off before its host guard is claimed. */
    static boolean needed(List<String> risks) {
        return risks.contains("CAP_NET_RAW") || risks.contains("CAP_NET_ADMIN");
    }

    private ChecksumOffload chosen() {
        ChecksumOffload known = chosen;
        if (known == null && unavailable == null) {
            synchronized (this) {
                if (chosen == null && unavailable == null) {
                    if (!procRoot.equals(Path.of("/proc"))) {
                        unavailable = "the proc root is " + procRoot + ", not /proc";
                    } else {
                        try {
                            chosen = InNamespaceChecksumOffload.shared();
                        } catch (LinkageError e) { // for good: JNA or libc cannot be loaded
                            unavailable = e.toString();
                            LOG.warn("transmit checksum offload cannot be turned off in container namespaces ({}): host"
                                    + " guards of containers holding CAP_NET_RAW or CAP_NET_ADMIN are not claimed", e.toString());
                        } catch (Exception e) { // tried again at the next use (a descriptor limit met once, say)
                            return null;
                        }
                    }
                }
                known = chosen;
            }
        }
        return known;
    }
}
