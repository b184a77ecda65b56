package dev.netfence.hostguard;

import com.sun.jna.Pointer;
import dev.netfence.netns.LibNftables;
import java.io.IOException;
import java.util.Optional;

/**
 * {@link HostTable} in-process through libnftables (the shared JNA binding {@link LibNftables}), in
 * netfence's own namespace, so no thread ever changes namespace and no process is started: a
 * fresh nft context per call, output and errors into the context's buffers (never the
 * process's stdout), {@code nft_run_cmd_from_buffer} sends the text as one netlink batch, so a
 * transaction is atomic. {@link #load()} is empty when the library cannot be loaded; netfence
 * then falls back to {@link NftProcessTable}. Calls are serialised (the library's global state is
 * not documented as thread-safe, and the host guard writes take turns anyway).
 */
public final class LibNftablesTable implements HostTable {
    private static final String LIST = "list table " + GuardRenderer.FAMILY + ' ' + GuardRenderer.TABLE;

    private final LibNftables lib;

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
        String[] result = call(LIST);
        if (result[0] == null) {
            return result[1];
        }
        if (result[0].contains("No such file or directory")) {
            return "";
        }
        throw new IOException("listing the host table failed: " + result[0].strip());
    }

    /** {error or null, output}. */
    private String[] call(String commands) throws IOException {
        Pointer ctx = lib.nft_ctx_new(0);
        if (ctx == null) {
            throw new IOException("nft_ctx_new returned NULL");
        }
        try {
            lib.nft_ctx_buffer_output(ctx);
            lib.nft_ctx_buffer_error(ctx);
            int code = lib.nft_run_cmd_from_buffer(ctx, commands);
            String out = lib.nft_ctx_get_output_buffer(ctx);
            String err = lib.nft_ctx_get_error_buffer(ctx);
            return new String[] {code == 0 ? null : (err == null || err.isBlank() ? "exit " + code : err),
                out == null ? "" : out};
        } finally {
            lib.nft_ctx_free(ctx);
        }
    }
}
