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
 * callers sort into FIREWALL_UNAVAILABLE.
 */
public final class ProcessCommandRunner implements CommandRunner {
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
        CompletableFuture<String> out = drain(process.getInputStream());
        CompletableFuture<String> err = drain(process.getErrorStream());
        CompletableFuture<Void> in = CompletableFuture.runAsync(() -> feed(process.getOutputStream(), input), pumps);
        try {
            if (!process.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
                kill(process);
                throw new CommandTimeoutException(argv, timeout);
            }
            return new CommandResult(argv, process.exitValue(), join(out), join(err));
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

    private CompletableFuture<String> drain(InputStream stream) {
        return CompletableFuture.supplyAsync(() -> {
            try (InputStream s = stream) {
                ByteArrayOutputStream buffer = new ByteArrayOutputStream();
                s.transferTo(buffer);
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

    private static String join(CompletableFuture<String> stream) throws InterruptedException {
        try {
            return stream.get(5, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            // output held open by a grandchild, or unreadable: report what the exit code says
            return "";
        }
    }
}
