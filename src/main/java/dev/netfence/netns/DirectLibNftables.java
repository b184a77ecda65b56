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
    /**
     * libnftables' interface cache is one per process and unlocked: a listing fills it where it
     * prints an interface index ({@code meta iif}), and every command's end and every context's
     * free empties it; a listing beside another thread's command or free corrupted the heap
     * (InterfaceCacheKernelTest). So a listing holds this exclusively, and every other command and
     * free holds it shared (those find the cache empty and leave it so, and run side by side), as
     * does a listing of what netfence alone wrote in a fresh namespace ({@link #nft_run_own_listing},
     * which prints no interface index). An exclusive request queues for at most 100 ms
     * ({@link CacheTurns}), so that a shared turn a workload holds does not hold every other call up.
     */
    private static final CacheTurns CACHE = new CacheTurns(java.time.Duration.ofMillis(100), BUSY_WAIT);
    /** Contexts whose free had no turn within the busy wait that may wait to be freed later ({@link #freeLate}). */
    static final int LATE_FREES = 64;
    private static DirectLibNftables bound;
    private final CacheTurns turns;
    private final LateFrees late;

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

    /** The calls bound by {@link #load()}, taking turns at {@code turns}; {@code late}: frees that had none. */
    DirectLibNftables(CacheTurns turns, LateFrees late) {
        this.turns = java.util.Objects.requireNonNull(turns, "turns");
        this.late = java.util.Objects.requireNonNull(late, "late");
    }

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
                bound = new DirectLibNftables(CACHE, new LateFrees(LATE_FREES));
            }
            return bound;
        }
    }

    @Override
    public Pointer nft_ctx_new(int flags) {
        return Calls.nft_ctx_new(flags);
    }

    /**
     * Frees {@code ctx} in a shared turn. With no turn within the busy wait, {@code ctx} is kept
     * ({@link LateFrees}) for {@link #freeLate} (it is not to be used, nor its socket closed,
     * afterwards: the free closes it) unless {@link #LATE_FREES} wait already: then
     * {@link LibNftables.Busy}, and the caller leaves it.
     */
    @Override
    public void nft_ctx_free(Pointer ctx) {
        java.util.concurrent.locks.Lock lock;
        try {
            lock = turns.shared("a context's free");
        } catch (LibNftables.Busy e) {
            if (late.defer(ctx)) {
                return;
            }
            throw e;
        }
        try {
            Calls.nft_ctx_free(ctx);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public int lateFrees() {
        return late.waiting();
    }

    /**
     * Frees the kept contexts in a shared turn if one is free at once. Their sockets' closes may
     * each wait for an RCU grace period (a context kept long is usually its socket's last
     * holder), so this runs on closer threads ({@code nft.NftContext} parks it with its closes).
     */
    @Override
    public void freeLate() {
        if (late.waiting() == 0) {
            return;
        }
        java.util.concurrent.locks.Lock lock = turns.sharedNow();
        if (lock == null) {
            return; // a listing has the cache: the next closer's call tries again
        }
        try {
            late.drain(Calls::nft_ctx_free);
        } finally {
            lock.unlock();
        }
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
        boolean alone = lists(buffer);
        java.util.concurrent.locks.Lock lock = alone ? turns.exclusive("a listing") : turns.shared("a command");
        try {
            return Calls.nft_run_cmd_from_buffer(ctx, buffer);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public int nft_run_own_listing(Pointer ctx, String buffer) {
        java.util.concurrent.locks.Lock lock = turns.shared("a listing of netfence's own table");
        try {
            return Calls.nft_run_cmd_from_buffer(ctx, buffer);
        } finally {
            lock.unlock();
        }
    }

    /** Commands that print what the kernel holds (a statement starting with one of them). */
    private static final java.util.Set<String> PRINTING = java.util.Set.of("list", "monitor", "export", "reset",
            "describe", "get", "include", "import");

    /**
     * Whether {@code commands} may print what the kernel holds: a statement (a line, or a part
     * of one between semicolons) whose first word is {@code list}, {@code monitor}, {@code
     * export}, {@code reset}, {@code describe}, {@code get} (an element look-up prints it),
     * {@code include} or {@code import} (their commands come from elsewhere, unseen here); or
     * JSON input (its first character {@code {} or {@code [}), which is not read here. A rule
     * never starts with one of these words, so netfence's own scripts do not (a rule may hold
     * {@code mld-listener-query}); its listings do. When in doubt a command counts as a listing:
     * it then only waits for its turn, where the other way round it could corrupt the heap.
     */
    static boolean lists(String commands) {
        int at = 0;
        int n = commands.length();
        while (at < n && Character.isWhitespace(commands.charAt(at))) {
            at++;
        }
        if (at < n && (commands.charAt(at) == '{' || commands.charAt(at) == '[')) {
            return true;
        }
        while (at < n) {
            while (at < n && (Character.isWhitespace(commands.charAt(at)) || commands.charAt(at) == ';')) {
                at++;
            }
            int word = at;
            while (at < n && Character.isLetter(commands.charAt(at))) {
                at++;
            }
            if (at > word && PRINTING.contains(commands.substring(word, at))) {
                return true;
            }
            while (at < n && commands.charAt(at) != '\n' && commands.charAt(at) != ';') {
                at++;
            }
        }
        return false;
    }
}
