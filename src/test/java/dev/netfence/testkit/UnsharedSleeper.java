package dev.netfence.testkit;

import dev.netfence.netns.NamespaceId;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A stand-in container for kernel tests that need only a process in a private network namespace:
 * {@code unshare --net sleep infinity}, returned once the {@code sleep} runs in a namespace other
 * than the test's own. {@link #close()} ends exactly that process (the test started it).
 */
public final class UnsharedSleeper implements AutoCloseable {
    private final Process process;
    private final NamespaceId namespace;

    private UnsharedSleeper(Process process, NamespaceId namespace) {
        this.process = process;
        this.namespace = namespace;
    }

    /** Starts the sleeper and waits (at most about 5 s) until it is in its own namespace. */
    public static UnsharedSleeper start() throws IOException, InterruptedException {
        Process p = new ProcessBuilder("unshare", "--net", "sleep", "infinity")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectErrorStream(true).start();
        NamespaceId own = NamespaceId.of(Path.of("/proc/self/ns/net"));
        for (int i = 0; i < 500; i++) {
            try {
                String cmd = Files.readString(Path.of("/proc/" + p.pid() + "/cmdline"));
                NamespaceId ns = NamespaceId.of(Path.of("/proc/" + p.pid() + "/ns/net"));
                if (cmd.startsWith("sleep") && !ns.equals(own)) {
                    return new UnsharedSleeper(p, ns);
                }
            } catch (IOException notYet) {
                // still starting
            }
            Thread.sleep(10);
        }
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        throw new IllegalStateException("process " + p.pid() + " did not enter its own namespace");
    }

    public Process process() {
        return process;
    }

    public NamespaceId namespace() {
        return namespace;
    }

    @Override
    public void close() throws InterruptedException {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
}
