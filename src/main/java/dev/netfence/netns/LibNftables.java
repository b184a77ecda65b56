package dev.netfence.netns;

import com.sun.jna.Library;
import com.sun.jna.Pointer;

/**
 * The one JNA binding of libnftables ({@code libnftables.so.1}, the API {@code nft} itself is
 * built on), shared by the in-process nft backend (in container namespaces) and the host guard's
 * table (in netfence's own namespace). It lives here, below both, so neither binds the library
 * itself. {@link #load()} throws {@link UnsatisfiedLinkError} when the library is not installed;
 * callers fall back to the {@code nft} program.
 */
public interface LibNftables extends Library {
    /**
     * Thrown instead of running a command or a free that waited {@link #BUSY_WAIT} for its turn
     * (a listing runs alone in the process, see {@code DirectLibNftables}): a command held that
     * long (libnftables restarts a cache fetch that a commit interrupts, without limit, so a
     * workload committing without pause can hold one in its own namespace) must not stop every
     * other namespace's work with it. Its message names {@code Device or resource busy}: retried.
     */
    final class Busy extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public Busy(String what) {
            super(what + " waited " + BUSY_WAIT.toMillis() + " ms " + MARKER + ", held by another"
                    + " thread's command (Device or resource busy)");
        }

        /** In every {@link Busy} message: how a caller that sees only the text tells it from the kernel's EBUSY. */
        public static final String MARKER = "for its turn in libnftables";

        /** Whether {@code text} (an error text, perhaps null) is a {@link Busy}'s. */
        public static boolean in(String text) {
            return text != null && text.contains(MARKER);
        }
    }

    /** How long a command or a free waits for its turn before {@link Busy}. */
    java.time.Duration BUSY_WAIT = java.time.Duration.ofSeconds(2);

    /** {@code NFT_CTX_OUTPUT_JSON} of libnftables' output flags. */
    int NFT_CTX_OUTPUT_JSON = 1 << 4;

    Pointer nft_ctx_new(int flags);

    void nft_ctx_free(Pointer ctx);

    /**
     * Frees the contexts whose {@link #nft_ctx_free} had no turn and were kept for later, if a
     * turn is free at once; for a thread that may wait in a socket's close (a closer), never for
     * one away in a container's namespace. Nothing to do where frees are never kept.
     */
    default void freeLate() {}

    /** How many contexts wait for {@link #freeLate}. */
    default int lateFrees() {
        return 0;
    }

    int nft_ctx_buffer_output(Pointer ctx);

    int nft_ctx_buffer_error(Pointer ctx);

    String nft_ctx_get_output_buffer(Pointer ctx);

    String nft_ctx_get_error_buffer(Pointer ctx);

    void nft_ctx_output_set_flags(Pointer ctx, int flags);

    int nft_run_cmd_from_buffer(Pointer ctx, String buffer);

    /**
     * {@link #nft_run_cmd_from_buffer} for a listing of what netfence alone writes (its table in a
     * fresh namespace it made, which nothing else can reach), whose rules never print an interface
     * index (interfaces by name, addresses, ports): such a listing fills no
     * process-wide cache (libnftables' interface cache fills only where it prints or parses an
     * interface index), so where calls take turns ({@link DirectLibNftables}) it runs beside the
     * others instead of alone, and a workload that keeps one of netfence's transactions in its
     * namespace restarting holds up nothing else. Never for a table anything else can write: the
     * host guard's table in the host namespace is one (a host-network process holding
     * CAP_NET_ADMIN can add to it), so its listings run alone.
     */
    default int nft_run_own_listing(Pointer ctx, String buffer) {
        return nft_run_cmd_from_buffer(ctx, buffer);
    }

    /**
     * Loads {@code libnftables.so.1} (else {@code libnftables.so}); {@link UnsatisfiedLinkError} when
     * neither loads. The calls are direct-mapped ({@link DirectLibNftables}): an apply makes about
     * a dozen of them, and JNA's interface proxy looked each one up by reflection.
     */
    static LibNftables load() {
        return DirectLibNftables.load();
    }
}
