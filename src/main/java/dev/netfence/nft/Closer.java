package dev.netfence.nft;

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
        close(() -> dev.netfence.netns.NativeDescriptors.closeQuietly(fd));
    }
}
