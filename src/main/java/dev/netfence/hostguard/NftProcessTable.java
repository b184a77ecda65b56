package dev.netfence.hostguard;

import dev.netfence.netns.CommandResult;
import dev.netfence.netns.CommandRunner;
import dev.netfence.netns.CommandTimeoutException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * {@link HostTable} through the {@code nft} program in netfence's own namespace: {@code nft -f -}
 * with the transaction on stdin (nft sends a file as one netlink batch, so it is atomic) and
 * {@code nft list table netdev netfence} (or one chain of it). One process per call; argv only,
 * never a shell.
 */
public final class NftProcessTable implements HostTable {
    private static final List<String> LIST =
            List.of("nft", "list", "table", GuardRenderer.FAMILY, GuardRenderer.TABLE);

    private final CommandRunner runner;
    private final Duration timeout;

    public NftProcessTable(CommandRunner runner, Duration timeout) {
        this.runner = Objects.requireNonNull(runner, "runner");
        this.timeout = Objects.requireNonNull(timeout, "timeout");
    }

    /** Whether a directory of {@code path} (a {@code PATH} value, or null) holds an executable {@code nft}. */
    public static boolean onPath(String path) {
        return path != null && java.util.Arrays.stream(path.split(java.io.File.pathSeparator))
                .anyMatch(d -> !d.isEmpty() && java.nio.file.Files.isExecutable(java.nio.file.Path.of(d, "nft")));
    }

    @Override
    public void run(String script) throws IOException, Rejected {
        CommandResult result = exec(List.of("nft", "-f", "-"), script.getBytes(StandardCharsets.UTF_8));
        if (!result.ok()) {
            throw new Rejected("nft -f - exited " + result.exitCode() + ": " + result.stderr().strip());
        }
    }

    @Override
    public String list() throws IOException {
        return listing(LIST);
    }

    @Override
    public String listChain(String chain) throws IOException {
        if (!GuardChain.validDevice(chain)) {
            throw new IllegalArgumentException("not a guard chain name: " + chain);
        }
        return listing(List.of("nft", "list", "chain", GuardRenderer.FAMILY, GuardRenderer.TABLE, chain));
    }

    private String listing(List<String> argv) throws IOException {
        CommandResult result = exec(argv, new byte[0]);
        if (result.ok()) {
            return result.stdout();
        }
        if (result.stderr().contains("No such file or directory")) {
            return "";
        }
        throw new IOException(String.join(" ", argv) + " exited " + result.exitCode() + ": " + result.stderr().strip());
    }

    private CommandResult exec(List<String> argv, byte[] stdin) throws IOException {
        try {
            return runner.run(argv, stdin, timeout);
        } catch (CommandTimeoutException e) {
            throw new IOException(e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted running " + argv);
        }
    }
}
