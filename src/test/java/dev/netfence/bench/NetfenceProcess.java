package dev.netfence.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code netfence run} as the user starts it: {@code scripts/netfence run ...} (the launcher
 * execs the JVM, so the child's pid is netfence's own), output to a log file, stopped with
 * SIGTERM (then SIGKILL after a grace period) by its pid only. Extra JVM options (heap size, JFR)
 * pass through {@code NETFENCE_JAVA_OPTS}, as the launcher documents.
 */
final class NetfenceProcess implements AutoCloseable {
    private final Process process;
    private final Path log;

    private NetfenceProcess(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    static NetfenceProcess start(Path root, Path log, String javaOpts, List<String> args) throws IOException {
        List<String> argv = new ArrayList<>();
        argv.add(root.resolve("scripts/netfence").toString());
        argv.add("run");
        argv.addAll(args);
        Files.createDirectories(log.getParent());
        ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().put("NETFENCE_JAVA_OPTS", javaOpts == null ? "" : javaOpts);
        pb.environment().remove("KAFKA_BOOTSTRAP_SERVERS");
        Process p = pb.start();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (p.isAlive()) {
                p.destroyForcibly();
            }
        }));
        return new NetfenceProcess(p, log);
    }

    long pid() {
        return process.pid();
    }

    /** Fails when netfence already exited (it should run until stopped). */
    void checkAlive() {
        if (!process.isAlive()) {
            throw new IllegalStateException("netfence run exited with " + process.exitValue() + "; see " + log);
        }
    }

    @Override
    public void close() {
        if (!process.isAlive()) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(40, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }
}
