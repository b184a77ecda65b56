package dev.netfence.netns;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;

/**
 * {@link LibNftables} over libnftables' functions direct-mapped with {@code Native.register}: the
 * same calls with the same argument and result conversions (strings in JNA's encoding, as the
 * interface proxy converted them), without the proxy's reflective look-up per call. The library
 * is bound once per process; {@link #load()} fails with {@link UnsatisfiedLinkError} when neither
 * {@code libnftables.so.1} nor {@code libnftables.so} loads, as {@link LibNftables#load()} did.
 */
final class DirectLibNftables implements LibNftables {
    private static final Object LOCK = new Object();
    private static DirectLibNftables bound;

    private static final class Calls {
        static native Pointer nft_ctx_new(int flags);

        static native void nft_ctx_free(Pointer ctx);

        static native int nft_ctx_buffer_output(Pointer ctx);

        static native int nft_ctx_buffer_error(Pointer ctx);

        static native String nft_ctx_get_output_buffer(Pointer ctx);

        static native String nft_ctx_get_error_buffer(Pointer ctx);

        static native void nft_ctx_output_set_flags(Pointer ctx, int flags);

        static native int nft_run_cmd_from_buffer(Pointer ctx, String buffer);
    }

    private DirectLibNftables() {}

    static LibNftables load() {
        synchronized (LOCK) {
            if (bound == null) {
                NativeLibrary library;
                try {
                    library = NativeLibrary.getInstance("libnftables.so.1");
                } catch (UnsatisfiedLinkError e) {
                    library = NativeLibrary.getInstance("nftables");
                }
                Native.register(Calls.class, library);
                bound = new DirectLibNftables();
            }
            return bound;
        }
    }

    @Override
    public Pointer nft_ctx_new(int flags) {
        return Calls.nft_ctx_new(flags);
    }

    @Override
    public void nft_ctx_free(Pointer ctx) {
        Calls.nft_ctx_free(ctx);
    }

    @Override
    public int nft_ctx_buffer_output(Pointer ctx) {
        return Calls.nft_ctx_buffer_output(ctx);
    }

    @Override
    public int nft_ctx_buffer_error(Pointer ctx) {
        return Calls.nft_ctx_buffer_error(ctx);
    }

    @Override
    public String nft_ctx_get_output_buffer(Pointer ctx) {
        return Calls.nft_ctx_get_output_buffer(ctx);
    }

    @Override
    public String nft_ctx_get_error_buffer(Pointer ctx) {
        return Calls.nft_ctx_get_error_buffer(ctx);
    }

    @Override
    public void nft_ctx_output_set_flags(Pointer ctx, int flags) {
        Calls.nft_ctx_output_set_flags(ctx, flags);
    }

    @Override
    public int nft_run_cmd_from_buffer(Pointer ctx, String buffer) {
        return Calls.nft_run_cmd_from_buffer(ctx, buffer);
    }
}
