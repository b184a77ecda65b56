package dev.netfence.nft;

import com.sun.jna.Pointer;
import dev.netfence.netns.LibNftables;
import dev.netfence.netns.NativeDescriptors;

/**
 * One libnftables context, used on the thread that made it and freed by {@link #close()}. Output
 * and errors go to the context's buffers, never to the process's stdout/stderr. It must be made
 * after the thread entered the target namespace: the context opens its netlink socket, which
 * stays in the namespace it was opened in, so a context is never carried from one namespace to
 * another. Not thread-safe. Its free may run on another thread ({@link Closer}); where its
 * socket is known ({@link ContextSockets}) the context is freed at once instead, and only a
 * copy of its socket, at a number of 1024 or more, goes to the {@link Closer}: the socket's last
 * close, the one that may wait for the kernel, is the copy's.
 */
final class NftContext implements AutoCloseable {
    /** What one {@code nft_run_cmd_from_buffer} returned: its code, its output and its error text. */
    record Run(int code, String output, String errors) {
        boolean ok() {
            return code == 0;
        }
    }

    private final LibNftables lib;
    private final Pointer ctx;
    private final Closer closes;
    private final ContextSockets sockets;
    private boolean freed;

    /**
     * A context whose {@link #close} hands its socket's close (or the whole free) to {@code
     * closes}. Where its socket is known it is connected to the kernel first ({@link
     * NativeCalls.Netlink#connectToKernel}): libnftables leaves it unconnected, and a workload
     * holding CAP_NET_ADMIN in the namespace could otherwise send it replies of its own making
     * (a listing of rules that are not there) at the port id its {@code /proc/net/netlink} shows.
     */
    NftContext(LibNftables lib, ContextSockets sockets, Closer closes) {
        this.lib = lib;
        this.sockets = sockets;
        this.closes = closes;
        Pointer made = lib.nft_ctx_new(0);
        if (made == null) {
            throw new IllegalStateException("nft_ctx_new returned NULL");
        }
        this.ctx = made;
        lib.nft_ctx_buffer_output(ctx);
        lib.nft_ctx_buffer_error(ctx);
        int fd = sockets.of(ctx);
        if (fd >= 0) {
            try {
                NativeCalls.Netlink.connectToKernel(fd);
            } catch (com.sun.jna.LastErrorException e) {
                close();
                throw new IllegalStateException("cannot connect the libnftables context's netlink socket to the kernel: "
                        + e.getMessage(), e);
            }
        }
    }

    /** Runs {@code commands} (nft script text); one call is one netlink transaction. */
    Run run(String commands) {
        return run(commands, false);
    }

    /**
     * Runs a listing of what netfence alone wrote, in a fresh namespace it made
     * ({@link LibNftables#nft_run_own_listing}): beside other calls, not alone.
     */
    Run runOwnListing(String commands) {
        return run(commands, true);
    }

    private Run run(String commands, boolean own) {
        int code;
        try {
            code = own ? lib.nft_run_own_listing(ctx, commands) : lib.nft_run_cmd_from_buffer(ctx, commands);
        } catch (LibNftables.Busy e) {
            return new Run(-1, "", e.getMessage()); // NftErrors: retried as LOCK_CONTENDED
        }
        String out = lib.nft_ctx_get_output_buffer(ctx);
        String err = lib.nft_ctx_get_error_buffer(ctx);
        return new Run(code, out == null ? "" : out, err == null ? "" : err);
    }

    /** From now on, listings come as JSON ({@code nft -j}); this context. */
    NftContext json() {
        lib.nft_ctx_output_set_flags(ctx, NativeCalls.NFT_CTX_OUTPUT_JSON);
        return this;
    }

    /** From now on, listings come as text (and input is never tried as JSON first). */
    void plain() {
        lib.nft_ctx_output_set_flags(ctx, 0);
    }

    /**
     * Frees the context, its socket {@code socket}. A free that cannot have its turn is done later
     * by a closer (the binding keeps the context, socket open, for {@link LibNftables#freeLate});
     * only where too many wait already ({@link LibNftables.Busy}) is the context's memory left and
     * its socket closed here.
     */
    private void free(int socket) {
        try {
            lib.nft_ctx_free(ctx);
        } catch (LibNftables.Busy e) {
            NativeDescriptors.closeQuietly(socket);
        }
    }

    /** The descriptor of the context's netlink socket, -1 when not known ({@link ContextSockets}). */
    int socket() {
        return sockets.of(ctx);
    }

    /**
     * Frees the context: at once, its socket's copy to the closes it was made with; its socket
     * unknown, all of it through them; its socket known but not copied (no free number above
     * 1023), all of it here, where it may wait for the kernel: a context parked whole holds a
     * number below 1024, of which few may wait. Not to be used afterwards.
     */
    @Override
    public void close() {
        if (freed) {
            return;
        }
        freed = true;
        try {
            int socket = socket();
            int copy = NativeDescriptors.copyHigh(socket);
            if (copy < 0) {
                if (socket >= 0) {
                    free(socket); // no number above 1023 left: freed here (it may wait), not parked low
                } else {
                    closes.close(() -> lib.nft_ctx_free(ctx)); // parked whole: InProcessNft keeps the limits low then
                }
                return;
            }
            try {
                free(socket); // closes the context's own number; the socket lives on in the copy
            } finally {
                closes.close(() -> NativeDescriptors.closeQuietly(copy));
            }
        } finally {
            if (closes != Closer.INLINE && lib.lateFrees() > 0) {
                closes.close(lib::freeLate); // contexts a free had to keep (this one's too), freed on a closer
            }
        }
    }
}
