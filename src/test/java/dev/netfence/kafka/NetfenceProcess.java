package dev.netfence.kafka;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code java -jar target/netfence.jar ARGS} as a child process, the way an operator runs it, so
 * a test can end it the hard way: {@link #kill9()} is SIGKILL ({@link Process#destroyForcibly()}
 * on the pid this class started, and nothing else), {@link #stop()} is SIGTERM and returns the
 * exit code. Output goes to a log file whose tail a failing test can show. {@link #close()}
 * SIGKILLs a child that is still running, so a failed test leaves nothing behind.
 */
final class NetfenceProcess implements AutoCloseable {
    static final Path JAR = Path.of("target", "netfence.jar");

    private final Process process;
    private final Path log;

    private NetfenceProcess(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    /** Starts {@code netfence ARGS}; stdout and stderr are appended to {@code log}. */
    static NetfenceProcess start(Path log, List<String> args) {
        return start(log, List.of(), args);
    }

    /** Starts {@code java JVM_ARGS -jar netfence.jar ARGS} (e.g. {@code -Dnetfence.log.level=DEBUG}). */
    static NetfenceProcess start(Path log, List<String> jvmArgs, List<String> args) {
        if (!Files.isRegularFile(JAR)) {
            throw new IllegalStateException(JAR.toAbsolutePath() + " is missing: run the ITs with `mvn verify` (after package)");
        }
        List<String> argv = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto"));
        argv.addAll(jvmArgs);
        argv.add("-jar");
        argv.add(JAR.toAbsolutePath().toString());
        argv.addAll(args);
        try {
            Process p = new ProcessBuilder(argv).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                if (p.isAlive()) {
                    p.destroyForcibly();
                }
            }, "netfence-child-reaper-" + p.pid()));
            return new NetfenceProcess(p, log);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + argv, e);
        }
    }

    long pid() {
        return process.pid();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** SIGKILL, then wait until the process is gone. */
    void kill9() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("netfence pid " + pid() + " survived SIGKILL");
        }
    }

    /** SIGTERM and wait (bounded) for a clean exit; returns the exit code. */
    int stop() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(90, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            throw new IllegalStateException("netfence pid " + pid() + " did not stop within 90 s of SIGTERM");
        }
        return process.exitValue();
    }

    /** SIGTERM without waiting. */
    void terminate() {
        process.destroy();
    }

    /** Waits (bounded) for the process to exit; its exit code, or -1 when it is still running. */
    int awaitExit(long seconds) throws InterruptedException {
        return process.waitFor(seconds, TimeUnit.SECONDS) ? process.exitValue() : -1;
    }

    /** The whole log. */
    String log() {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    /** The last {@code lines} lines of the log, for failure messages. */
    String logTail(int lines) {
        try {
            List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
            try {
                process.waitFor(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
