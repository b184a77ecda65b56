package dev.netfence.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A python workload that plays with CAP_NET_ADMIN the ways a look at one process's status misses
 * ({@code capability-workload.py}: {@code hide} keeps it only permitted, {@code thread} and
 * {@code child} keep it in another thread or process while the started one drops it from every
 * set, {@code plain} just holds it), started through a prefix that puts it in a sandbox's network
 * namespace ({@code ip netns exec NS}, {@code nsenter -t PID -n}). Its protocol: {@link #start}
 * waits for "ready" (move it into a cgroup then), {@link #arm} sets the game up, {@link #use}
 * makes the keeper use the capability and returns what it said ("used" when the capability was
 * real). {@link #close} kills it (a child keeper exits when its parent's pipe closes).
 */
public final class CapabilityWorkload implements AutoCloseable {
    private final Process process;
    private final BufferedReader says;

    private CapabilityWorkload(Process process) {
        this.process = process;
        this.says = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    }

    /** Starts {@code prefix... python3 capability-workload.py mode} and waits until it is ready. */
    public static CapabilityWorkload start(String mode, String... prefix) throws IOException {
        Path script;
        try {
            script = Path.of(CapabilityWorkload.class.getResource("capability-workload.py").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        List<String> argv = new ArrayList<>(List.of(prefix));
        argv.addAll(List.of(Python.EXE, script.toString(), mode));
        CapabilityWorkload w = new CapabilityWorkload(
                new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.DISCARD).start());
        w.expect("ready");
        return w;
    }

    public long pid() {
        return process.pid();
    }

    /** Sets the game up: after this the started process holds CAP_NET_ADMIN where its mode says. */
    public void arm() throws IOException {
        send("arm");
        expect("armed");
    }

    /** Has the keeper use the capability; returns its answer, "used" when it was real. */
    public String use() throws IOException {
        send("go");
        return says.readLine();
    }

    private void send(String line) throws IOException {
        process.getOutputStream().write((line + "\n").getBytes(StandardCharsets.UTF_8));
        process.getOutputStream().flush();
    }

    private void expect(String line) throws IOException {
        String said = says.readLine();
        if (!line.equals(said)) {
            throw new IOException("the capability workload said " + said + ", not " + line);
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
}
