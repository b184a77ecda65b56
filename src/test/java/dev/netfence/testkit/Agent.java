package dev.netfence.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One running {@link NetAgent} inside a namespace, started by the test with
 * {@code ip netns exec NS java -cp TEST_CLASSES NetAgent}; {@code ip} execs java, so
 * {@link #pid()} is the agent itself. Commands are lines on its stdin, answers lines on stdout.
 */
public final class Agent implements AutoCloseable {
    private final Process process;
    private final Writer stdin;
    private final BufferedReader stdout;
    private final java.util.concurrent.ExecutorService reader = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "agent-reader");
        t.setDaemon(true);
        return t;
    });

    private Agent(Process process) {
        this.process = process;
        this.stdin = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        this.stdout = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    }

    /** Starts an agent in namespace {@code netns} ({@code ip netns exec}) and waits for its READY line. */
    public static Agent start(String netns) throws IOException {
        return startEntering(List.of("ip", "netns", "exec", netns), netns);
    }

    /**
     * Starts an agent under {@code enter} (a command prefix that execs its argument inside a
     * network namespace, e.g. {@code nsenter --net=/run/netns/X --}) and waits for its READY line.
     * The agent is a host program (the JVM running the tests), so it works in a container whose
     * root file system holds nothing but busybox.
     */
    static Agent startEntering(List<String> enter, String where) throws IOException {
        Path classes = classesDirectory();
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> argv = new java.util.ArrayList<>(enter);
        argv.addAll(List.of(java, "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-Xmx64m", "-cp", classes.toString(),
                NetAgent.class.getName()));
        Process p = new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        Agent agent = new Agent(p);
        String ready;
        try {
            ready = agent.readLine(30_000);
        } catch (IOException | RuntimeException e) {
            agent.close(); // no agent is left behind in the namespace, which it would keep alive
            throw e;
        }
        if (!"READY".equals(ready)) {
            agent.close();
            throw new IOException("agent in " + where + " did not start: " + ready);
        }
        return agent;
    }

    /** The agent's pid, which is a process in the namespace it was started in. */
    public long pid() {
        return process.pid();
    }

    /** Sends one command and returns its one-line answer. */
    public synchronized String send(String command) throws IOException {
        stdin.write(command + "\n");
        stdin.flush();
        return readLine(60_000);
    }

    private String readLine(long timeoutMs) throws IOException {
        try {
            return CompletableFuture.supplyAsync(() -> {
                try {
                    return stdout.readLine();
                } catch (IOException e) {
                    return "ERROR " + e;
                }
            }, reader).get(timeoutMs, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            throw new IOException("no answer from agent pid " + pid() + ": " + e, e);
        }
    }

    private static Path classesDirectory() {
        try {
            return Path.of(NetAgent.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (Exception e) {
            throw new IllegalStateException("cannot locate the test classes", e);
        }
    }

    /** Kills this agent (only this pid) and waits for it. */
    @Override
    public void close() {
        process.destroyForcibly();
        reader.shutdownNow();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
