package dev.netfence.netns;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The real {@link CommandRunner}: starts the argv with {@link ProcessBuilder} (never a shell),
 * feeds stdin and drains stdout and stderr on their own threads so a chatty program cannot
 * block on a full pipe, and kills the process (forcibly) when it outlives its timeout. A
 * program that cannot be started surfaces as the {@link IOException} ProcessBuilder raises, which
 * callers sort into FIREWALL_UNAVAILABLE. Each stream keeps at most {@link #MAX_OUTPUT} bytes: a
 * program that writes more is killed and the run fails with a {@link CommandOutputTooLargeException}, so
 * that a read-back of a ruleset a workload filled (an {@code iptables-save} or {@code nft -j list
 * ruleset} of its namespace) cannot take netfence's memory with it.
 */
public final class ProcessCommandRunner implements CommandRunner {
    /** The most output of one stream kept: far above any listing of netfence's own rules (tens of KB). */
    public static final int MAX_OUTPUT = 16 * 1024 * 1024;

    /** Stream pumps block on pipes, so they get their own daemon threads, not the common pool. */
    private final ExecutorService pumps = Executors.newCachedThreadPool(runnable -> {
        Thread thread = new Thread(runnable, "netfence-command-io");
        thread.setDaemon(true);
        return thread;
    });

    @Override
    public CommandResult run(List<String> argv, byte[] stdin, Duration timeout)
            throws IOException, CommandTimeoutException, InterruptedException {
        Objects.requireNonNull(argv, "argv");
        Objects.requireNonNull(timeout, "timeout");
        if (argv.isEmpty()) {
            throw new IllegalArgumentException("argv must not be empty");
        }
        byte[] input = stdin == null ? new byte[0] : stdin;
        Process process = new ProcessBuilder(argv).start();
        CompletableFuture<String> out = drain(process, process.getInputStream());
        CompletableFuture<String> err = drain(process, process.getErrorStream());
        CompletableFuture<Void> in = CompletableFuture.runAsync(() -> feed(process.getOutputStream(), input), pumps);
        try {
            if (!process.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
                kill(process);
                throw new CommandTimeoutException(argv, timeout);
            }
            String stdout = join(out);
            String stderr = join(err);
            if (stdout == null || stderr == null) {
                throw new CommandOutputTooLargeException(argv, stdout == null ? "stdout" : "stderr", MAX_OUTPUT);
            }
            return new CommandResult(argv, process.exitValue(), stdout, stderr);
        } catch (InterruptedException e) {
            kill(process);
            throw e;
        } finally {
            in.cancel(true);
        }
    }

    private static void kill(Process process) throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
    }

    /** The stream's text, or null when it passed {@link #MAX_OUTPUT} (then the process is killed and the rest discarded). */
    private CompletableFuture<String> drain(Process process, InputStream stream) {
        return CompletableFuture.supplyAsync(() -> {
            try (InputStream s = stream) {
                ByteArrayOutputStream buffer = new ByteArrayOutputStream();
                byte[] chunk = new byte[8192];
                int n;
                while ((n = s.read(chunk)) >= 0) {
                    if (buffer.size() + n > MAX_OUTPUT) {
                        process.destroyForcibly(); // (which also closes this stream)
                        return null;
                    }
                    buffer.write(chunk, 0, n);
                }
                return buffer.toString(StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, pumps);
    }

    private static void feed(OutputStream stream, byte[] input) {
        try (OutputStream s = stream) {
            s.write(input);
        } catch (IOException e) {
            // the program exited without reading all of its input; its exit code tells the story
        }
    }

    /** The stream's text; null when it was too long; empty when it could not be read. */
    private static String join(CompletableFuture<String> stream) throws InterruptedException {
        try {
            return stream.get(5, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            // output held open by a grandchild, or unreadable: report what the exit code says
            return "";
        }
    }
}
