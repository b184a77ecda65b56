package dev.netfence.nft;

import com.sun.jna.Pointer;
import dev.netfence.netns.LibNftables;

/**
 * One libnftables context, used on the thread that made it and freed by {@link #close()}. Output
 * and errors go to the context's buffers, never to the process's stdout/stderr. It must be made
 * after the thread entered the target namespace: the context opens its netlink socket, which
 * stays in the namespace it was opened in, so a context is never carried from one namespace to
 * another. Not thread-safe. Its free may run on another thread ({@link Closer}).
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
    private boolean freed;

    /** A context whose {@link #close} hands the free (and its socket's close) to {@code closes}. */
    NftContext(LibNftables lib, Closer closes) {
        this.lib = lib;
        this.closes = closes;
        Pointer made = lib.nft_ctx_new(0);
        if (made == null) {
            throw new IllegalStateException("nft_ctx_new returned NULL");
        }
        this.ctx = made;
        lib.nft_ctx_buffer_output(ctx);
        lib.nft_ctx_buffer_error(ctx);
    }

    /** Runs {@code commands} (nft script text); one call is one netlink transaction. */
    Run run(String commands) {
        int code = lib.nft_run_cmd_from_buffer(ctx, commands);
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

    /** Frees the context through the closes it was made with; not to be used afterwards. */
    @Override
    public void close() {
        if (!freed) {
            freed = true;
            closes.close(() -> lib.nft_ctx_free(ctx));
        }
    }
}
