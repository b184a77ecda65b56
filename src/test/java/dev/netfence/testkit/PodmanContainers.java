package dev.netfence.testkit;

import dev.netfence.netns.CommandResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Real podman containers for tests, as a JUnit 5 extension. Register it as a static field,
 * after {@link KernelTests} and {@link HostRulesetGuard}:
 *
 * <pre>
 * &#64;ExtendWith({KernelTests.class, HostRulesetGuard.class})
 * class FooKernelTest {
 *     &#64;RegisterExtension
 *     static final PodmanContainers PODMAN = new PodmanContainers();
 *
 *     &#64;Test
 *     void something() throws Exception {
 *         PodmanContainer peer = PODMAN.peer(8080);      // busybox httpd on 8080
 *         PodmanContainer sandbox = PODMAN.sandbox();    // busybox sleep
 *         Agent probe = sandbox.agent();                 // connects from inside sandbox's netns
 *         probe.send("tcp " + peer.ipv4() + " 8080 1500");
 *     }
 * }
 * </pre>
 *
 * Containers run {@code podman --runtime runc run -d} (crun cannot run on cgroup v1 hybrid
 * hosts) on a busybox root file system ({@link BusyboxRootfs}) with the ulimit flags sandboxes
 * that forbid raising rlimits need, on podman's default bridge (netavark, 10.88.0.0/16), with
 * unique names {@code nf-<random>-<role>} and the label {@code netfence.test=1}. A container
 * started inside a test is removed by name after that test, one started in {@code @BeforeAll}
 * after the class, whatever the outcome, and then netfence's host-guard chains whose interface
 * is gone (see {@link #removeLeftGuards}); a JVM shutdown hook removes whatever is left (a killed
 * run) and then the rootfs. The gate is {@link KernelTests}': without root, podman, runc or
 * busybox the class is skipped, or fails when NETFENCE_REQUIRE_KERNEL_TESTS=1 (as in CI).
 */
public final class PodmanContainers implements BeforeAllCallback, BeforeEachCallback, AfterEachCallback,
        AfterAllCallback {
    private static final Pattern ROLE = Pattern.compile("[a-z0-9][a-z0-9-]{0,30}");
    private static final Set<PodmanContainer> LIVE = ConcurrentHashMap.newKeySet();
    private static final SecureRandom RANDOM = new SecureRandom();
    private static boolean hookInstalled;

    private final List<PodmanContainer> classScoped = new ArrayList<>();
    private final List<PodmanContainer> testScoped = new ArrayList<>();
    private boolean inTest;

    /** Why podman containers cannot run here; empty when they can. */
    public static List<String> missingPrerequisites() {
        List<String> missing = new ArrayList<>(KernelTests.missingPrerequisites());
        if (!missing.isEmpty()) {
            return missing;
        }
        for (String tool : List.of("podman", "runc")) {
            if (!onPath(tool)) {
                missing.add(tool + " not on PATH (apt-get install -y podman)");
            }
        }
        String busybox = BusyboxRootfs.unavailable();
        if (busybox != null) {
            missing.add(busybox);
        }
        return missing;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        List<String> missing = missingPrerequisites();
        if (missing.isEmpty()) {
            return;
        }
        String why = "podman container tests cannot run: " + String.join("; ", missing);
        if ("1".equals(System.getenv(KernelTests.REQUIRE_ENV))) {
            Assertions.fail(why + " (and " + KernelTests.REQUIRE_ENV + "=1)");
        }
        Assumptions.abort(why);
    }

    @Override
    public synchronized void beforeEach(ExtensionContext context) {
        inTest = true;
    }

    @Override
    public void afterEach(ExtensionContext context) {
        List<PodmanContainer> mine;
        synchronized (this) {
            inTest = false;
            mine = new ArrayList<>(testScoped);
            testScoped.clear();
        }
        removeAll(mine);
        removeLeftGuards();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        List<PodmanContainer> mine;
        synchronized (this) {
            mine = new ArrayList<>(classScoped);
            classScoped.clear();
        }
        removeAll(mine);
        removeLeftGuards();
    }

    /**
     * After a test (or class) and its containers: removes from netfence's host table every chain
     * whose interface is gone. A netfence service keeps its host guards when it stops (a restart
     * needs them), and this kernel keeps a netdev chain past its device and binds it to the next
     * interface of that name: netavark reuses veth names, so a later test's container would have
     * its frames filtered by a guard written for another. Only netfence's own table is touched.
     * Not on {@link PodmanContainer#remove} in a test, where what netfence itself removes is what
     * the test proves.
     */
    private static void removeLeftGuards() {
        try {
            dev.netfence.hostguard.HostGuards.create(dev.netfence.hostguard.HostGuardMode.AUTO,
                    new dev.netfence.netns.ProcessCommandRunner()).adopt();
        } catch (RuntimeException e) {
            System.err.println("podman kit: could not remove host guards left behind: " + e);
        }
    }

    /** A peer running {@code httpd -f -vv -p PORT -h /www} (serves {@link BusyboxRootfs#INDEX}); returns once it listens. */
    public PodmanContainer peer(int httpPort) throws IOException {
        PodmanContainer peer = start("peer", List.of(), "/bin/httpd", "-f", "-vv", "-p", Integer.toString(httpPort),
                "-h", "/www");
        long until = System.nanoTime() + 20_000_000_000L;
        while (!peer.listensTcp(httpPort)) {
            if (System.nanoTime() > until) {
                throw new IllegalStateException(peer + " does not listen on " + httpPort + ": " + peer.logs());
            }
            pause();
        }
        return peer;
    }

    /** A sandbox running {@code sleep}: the container a policy is applied to. */
    public PodmanContainer sandbox() {
        return sandbox(List.of());
    }

    /** A sandbox running {@code sleep} with extra {@code podman run} options (e.g. {@code --cap-add NET_RAW}). */
    public PodmanContainer sandbox(List<String> runOptions) {
        return start("sandbox", runOptions, "/bin/sleep", "3600");
    }

    /**
     * Starts a container: {@code podman --runtime runc run -d --name nf-<random>-ROLE --label
     * netfence.test=1 --ulimit=... RUNOPTIONS --rootfs ROOTFS COMMAND...}, and inspects it.
     */
    public PodmanContainer start(String role, List<String> runOptions, String... command) {
        return start(role, List.of(), runOptions, command);
    }

    /**
     * The same with global podman options before {@code run} (e.g. {@code --hooks-dir DIR}):
     * {@code podman --runtime runc GLOBALOPTIONS run ...}.
     */
    public PodmanContainer start(String role, List<String> globalOptions, List<String> runOptions, String... command) {
        if (!ROLE.matcher(role).matches()) {
            throw new IllegalArgumentException("role must match " + ROLE + ", was: " + role);
        }
        if (command.length == 0) {
            throw new IllegalArgumentException("command must not be empty");
        }
        byte[] random = new byte[4];
        RANDOM.nextBytes(random);
        String name = "nf-" + HexFormat.of().formatHex(random) + "-" + role;
        List<String> argv = new ArrayList<>(List.of("podman", "--runtime", "runc"));
        argv.addAll(globalOptions);
        argv.addAll(List.of("run", "-d", "--name", name,
                "--label", "netfence.test=1", "--ulimit=nofile=1024:1024", "--ulimit=nproc=1024:1024"));
        argv.addAll(runOptions);
        argv.addAll(List.of("--rootfs", BusyboxRootfs.get().toString()));
        argv.addAll(List.of(command));
        installHook();
        CommandResult run = Sh.run(argv.toArray(String[]::new));
        if (!run.ok()) {
            forceRemove(name);
            throw new IllegalStateException("podman run failed (exit " + run.exitCode() + "): " + run.stderr().strip());
        }
        PodmanContainer container;
        try {
            container = inspect(name);
        } catch (RuntimeException e) {
            forceRemove(name);
            throw e;
        }
        LIVE.add(container);
        synchronized (this) {
            (inTest ? testScoped : classScoped).add(container);
        }
        return container;
    }

    /**
     * Restarts {@code c} ({@code podman --runtime runc GLOBALOPTIONS restart NAME}: the same id, a
     * new process in a new network namespace) and returns it as inspected now; still removed by
     * name when its test ends.
     */
    public PodmanContainer restart(PodmanContainer c, List<String> globalOptions) {
        List<String> argv = new ArrayList<>(List.of("podman", "--runtime", "runc"));
        argv.addAll(globalOptions);
        argv.addAll(List.of("restart", c.name()));
        CommandResult run = Sh.run(argv.toArray(String[]::new));
        if (!run.ok()) {
            throw new IllegalStateException("podman restart failed (exit " + run.exitCode() + "): " + run.stderr().strip());
        }
        return inspect(c.name());
    }

    private PodmanContainer inspect(String name) {
        String format = "{{.Id}}|{{.State.Pid}}|{{.NetworkSettings.IPAddress}}|{{.NetworkSettings.Gateway}}"
                + "|{{.NetworkSettings.SandboxKey}}";
        String[] f = Sh.ok("podman", "inspect", "--format", format, name).strip().split("\\|", -1);
        if (f.length != 5) {
            throw new IllegalStateException("unexpected podman inspect output for " + name + ": " + String.join("|", f));
        }
        int pid = Integer.parseInt(f[1]);
        if (pid <= 0) {
            String logs = Sh.run("podman", "logs", name).stderr();
            throw new IllegalStateException("container " + name + " is not running (pid " + pid + "): " + logs);
        }
        return new PodmanContainer(this, name, f[0], pid, f[2], f[3], Path.of(f[4]));
    }

    /** Removes {@code container} now: its agents, then the container by name. Idempotent. */
    void remove(PodmanContainer container) {
        synchronized (this) {
            testScoped.remove(container);
            classScoped.remove(container);
        }
        removeAll(List.of(container));
    }

    /** Removes the latest first: a container started with {@code --network container:X} must go before X. */
    private static void removeAll(List<PodmanContainer> containers) {
        RuntimeException first = null;
        List<PodmanContainer> latestFirst = new ArrayList<>(containers);
        java.util.Collections.reverse(latestFirst);
        for (PodmanContainer container : latestFirst) {
            try {
                container.stopAgents();
                if (LIVE.contains(container)) {
                    forceRemove(container.name());
                    LIVE.remove(container);
                }
            } catch (RuntimeException e) {
                first = first == null ? e : first;
            }
        }
        if (first != null) {
            throw first;
        }
    }

    private static void forceRemove(String name) {
        CommandResult r = Sh.run("podman", "rm", "-f", "-t", "0", name);
        if (!r.ok() && !r.stderr().contains("no such container")) {
            throw new IllegalStateException("podman rm -f " + name + " failed: " + r.stderr().strip());
        }
    }

    private static synchronized void installHook() {
        if (hookInstalled) {
            return;
        }
        hookInstalled = true;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            List<PodmanContainer> left = new ArrayList<>(LIVE);
            // twice: a container another one shares the network of can only go after it
            left.addAll(List.copyOf(LIVE));
            for (PodmanContainer container : left) {
                try {
                    container.stopAgents();
                    forceRemove(container.name());
                } catch (RuntimeException e) {
                    // best effort at exit
                }
            }
            BusyboxRootfs.deleteIfBuilt();
        }, "nf-podman-cleanup"));
    }

    private static boolean onPath(String tool) {
        String path = System.getenv().getOrDefault("PATH", "") + ":/usr/sbin:/sbin:/usr/bin:/bin";
        for (String dir : path.split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    private static void pause() {
        try {
            Thread.sleep(50);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
