package dev.netfence.hostguard;

import com.sun.jna.Pointer;
import dev.netfence.netns.LibNftables;
import java.io.IOException;
import java.util.Optional;

/**
 * {@link HostTable} in-process through libnftables (the shared JNA binding {@link LibNftables}), in
 * netfence's own namespace, so no thread ever changes namespace and no process is started. One nft
 * context is kept and reused (making one reads nft's iproute2 name tables and sets up its parser:
 * a large part of a small transaction's cost), its output and errors buffered in the context
 * (never the process's stdout) and taken after every call, which empties them. The context's
 * ruleset cache is no risk to reuse: libnftables compares it with the kernel's ruleset
 * generation before each command and fetches it again when anything changed meanwhile, whoever
 * changed it. After any failure the context is freed and the next call makes a new one, so a
 * refused transaction cannot leave state behind. {@code nft_run_cmd_from_buffer} sends the text
 * as one netlink batch, so a transaction is atomic. {@link #load()} is empty when the library
 * cannot be loaded; netfence then falls back to {@link NftProcessTable}. Calls are serialised (a
 * context is not safe to share between threads, and the host guard writes take turns anyway).
 */
public final class LibNftablesTable implements HostTable {
    private static final String LIST = "list table " + GuardRenderer.FAMILY + ' ' + GuardRenderer.TABLE;

    private final LibNftables lib;
    private final Rtnetlink netlink = new Rtnetlink();
    /** The reused context; null before the first call and after a failure. */
    private Pointer ctx;

    private LibNftablesTable(LibNftables lib) {
        this.lib = lib;
    }

    /** The in-process table, or empty when libnftables is not loadable here. */
    public static Optional<HostTable> load() {
        try {
            return Optional.of(new LibNftablesTable(LibNftables.load()));
        } catch (UnsatisfiedLinkError e) {
            return Optional.empty();
        }
    }

    @Override
    public synchronized void run(String script) throws IOException, Rejected {
        String[] result = call(script);
        if (result[0] != null) {
            throw new Rejected("libnftables refused the transaction: " + result[0].strip());
        }
    }

    @Override
    public synchronized String list() throws IOException {
        return listing(LIST);
    }

    @Override
    public synchronized String listChain(String chain) throws IOException {
        if (!GuardChain.validDevice(chain)) {
            throw new IllegalArgumentException("not a guard chain name: " + chain);
        }
        return listing("list chain " + GuardRenderer.FAMILY + ' ' + GuardRenderer.TABLE + ' ' + chain);
    }

    /** The kernel's ruleset generation of netfence's namespace (one netlink exchange, no nft context). */
    @Override
    public long generation() throws IOException {
        return netlink.nftGeneration();
    }

    private String listing(String command) throws IOException {
        String[] result = call(command);
        if (result[0] == null) {
            return result[1];
        }
        if (result[0].contains("No such file or directory")) {
            return "";
        }
        throw new IOException(command + " failed: " + result[0].strip());
    }

    /** {error or null, output}. */
    private String[] call(String commands) throws IOException {
        if (ctx == null) {
            Pointer fresh = lib.nft_ctx_new(0);
            if (fresh == null) {
                throw new IOException("nft_ctx_new returned NULL");
            }
            lib.nft_ctx_buffer_output(fresh);
            lib.nft_ctx_buffer_error(fresh);
            ctx = fresh;
        }
        boolean ok = false;
        try {
            int code;
            try {
                code = lib.nft_run_cmd_from_buffer(ctx, commands);
            } catch (LibNftables.Busy e) {
                throw new IOException(e.getMessage(), e);
            }
            String out = lib.nft_ctx_get_output_buffer(ctx);
            String err = lib.nft_ctx_get_error_buffer(ctx);
            ok = code == 0;
            return new String[] {ok ? null : (err == null || err.isBlank() ? "exit " + code : err),
                out == null ? "" : out};
        } finally {
            if (!ok) {
                try {
                    lib.nft_ctx_free(ctx);
                } catch (LibNftables.Busy e) {
                    // left unfreed (its memory and socket) rather than waited for without end
                }
                ctx = null;
            }
        }
    }
}
