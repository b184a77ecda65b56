package dev.netfence.nft;

import com.sun.jna.LastErrorException;

/**
 * Where the netlink sockets and libnftables contexts of the nft backend are closed: at once on the
 * calling thread ({@link #INLINE}), or gathered for a closer thread ({@link DeferredCloses.Batch}).
 */
@FunctionalInterface
interface Closer {
    /** Closes on the calling thread, at once. */
    Closer INLINE = Runnable::run;

    /** Runs {@code close} now or later; a {@link RuntimeException} it throws is ignored later. */
    void close(Runnable close);

    /** Closes netlink socket {@code fd} now or later (ignoring a failed close: nothing relies on it). */
    default void closeSocket(int fd) {
        close(() -> closeQuietly(fd));
    }

    /** Closes {@code fd}, ignoring a failure. */
    static void closeQuietly(int fd) {
        try {
            NativeCalls.Netlink.close(fd);
        } catch (LastErrorException ignored) {
            // a socket only asked questions on; a failed close changes nothing netfence relies on
        }
    }
}
