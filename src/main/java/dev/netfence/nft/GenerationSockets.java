package dev.netfence.nft;

import dev.netfence.netns.NamespaceId;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Per namespace, one NETLINK_NETFILTER socket kept open after the namespace thread that opened it
 * inside that namespace has gone home, so that the namespace's ruleset generation
 * ({@link NftGeneration}) can be asked from any thread without entering the namespace: a socket
 * stays bound to the network namespace it was created in, whichever namespace the thread that
 * uses it is in, and the kernel answers {@code NFT_MSG_GETGEN} for the socket's namespace. A
 * socket is kept only from a trip whose thread proved, by device and inode, that it was in the
 * expected namespace ({@link NamespaceThreads}), under that namespace's identity. The socket
 * holds a reference to its namespace, so that namespace lives (and its inode is not handed to
 * another namespace) while it is kept: the identity under which a socket is kept always names
 * the namespace it answers for. Kept sockets are moved to descriptor numbers at or above 1024
 * ({@code NativeDescriptors#keptHigh}), so they never push libnftables' own short-lived socket
 * past {@code select(2)}'s range. The cost is one descriptor per kept namespace and a namespace
 * whose last process exited living on until {@link #forget} (the reconciler releases a
 * container whose pid left its namespace at its next resync, which forgets it). At most
 * {@link #LIMIT} are kept; past that no new one is (those namespaces' generations are read on a
 * namespace trip, as before). Reads of one socket take turns; thread-safe, no logging, so it is
 * used on namespace threads too.
 */
final class GenerationSockets {
    static final int LIMIT = 16_384;

    private final NativeCalls.Libc libc;
    private final Map<NamespaceId, NftGeneration> byNamespace = new ConcurrentHashMap<>();

    GenerationSockets(NativeCalls.Libc libc) {
        this.libc = libc;
    }

    /**
     * Keeps the socket {@code generation} opened in {@code ns} (it must have been opened on a
     * thread proven to be in {@code ns}), unless one is kept already or the limit is reached; the
     * socket is then taken from {@code generation}, whose close no longer closes it. A socket not
     * kept after all is closed through {@code later} (the trip's batch: not on the namespace thread).
     */
    void keep(NamespaceId ns, NftGeneration generation, Closer later) {
        if (byNamespace.containsKey(ns) || byNamespace.size() >= LIMIT) {
            return;
        }
        int fd = generation.detach();
        if (fd < 0) {
            return;
        }
        int high = dev.netfence.netns.NativeDescriptors.keptHigh(fd);
        if (high < 0) {
            later.closeSocket(fd);
            return;
        }
        NftGeneration kept = NftGeneration.over(libc, high, generation.sequence());
        if (byNamespace.putIfAbsent(ns, kept) != null) {
            later.closeSocket(high);
        }
    }

    /** The generation of {@code ns} through its kept socket, or {@link NftGeneration#UNKNOWN} (none kept, or unreadable). */
    long read(NamespaceId ns) {
        NftGeneration kept = byNamespace.get(ns);
        if (kept == null) {
            return NftGeneration.UNKNOWN;
        }
        synchronized (kept) {
            return byNamespace.get(ns) == kept ? kept.read() : NftGeneration.UNKNOWN;
        }
    }

    /** Closes the socket kept for {@code ns}, if any: the namespace is no longer held by it. */
    void forget(NamespaceId ns) {
        NftGeneration kept = byNamespace.remove(ns);
        if (kept != null) {
            synchronized (kept) {
                kept.close();
            }
        }
    }

    /** Closes every kept socket. */
    void closeAll() {
        for (NamespaceId ns : byNamespace.keySet()) {
            forget(ns);
        }
    }

    int size() {
        return byNamespace.size();
    }
}
