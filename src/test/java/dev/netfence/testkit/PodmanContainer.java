package dev.netfence.testkit;

import dev.netfence.netns.CommandResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One running test container started by {@link PodmanContainers}: its name ({@code nf-<random>-<role>}),
 * full id, host pid (the container's init process as the host sees it), IPv4 address on
 * podman's bridge, the bridge gateway and the runtime's sandbox path (podman's
 * {@code NetworkSettings.SandboxKey}, {@code /run/netns/netns-<uuid>}). {@link #agent()} starts a
 * {@link NetAgent} inside the container's network namespace from the host side
 * ({@code nsenter --net=SANDBOXKEY}), which is how tests make connections and record what a peer
 * received: busybox's own network clients crash in this static build. The kit removes the
 * container (and stops its agents) by name; {@link #remove()} does it early.
 */
public final class PodmanContainer {
    private final PodmanContainers owner;
    private final String name;
    private final String id;
    private final int pid;
    private final String ipv4;
    private final String gateway;
    private final Path sandboxKey;
    private final List<Agent> agents = new ArrayList<>();

    PodmanContainer(PodmanContainers owner, String name, String id, int pid, String ipv4, String gateway,
            Path sandboxKey) {
        this.owner = owner;
        this.name = name;
        this.id = id;
        this.pid = pid;
        this.ipv4 = ipv4;
        this.gateway = gateway;
        this.sandboxKey = sandboxKey;
    }

    public String name() {
        return name;
    }

    /** The full 64-hex container id, as {@code libpod-<id>} in its cgroup. */
    public String id() {
        return id;
    }

    /** The host pid of the container's init process. */
    public int pid() {
        return pid;
    }

    public String ipv4() {
        return ipv4;
    }

    /** The bridge gateway (the host side of podman's network). */
    public String gateway() {
        return gateway;
    }

    /** The runtime's path of the container's network namespace (podman's SandboxKey). */
    public Path sandboxKey() {
        return sandboxKey;
    }

    /** {@code /proc/PID/cgroup} of the container's init process. */
    public String cgroup() throws IOException {
        return Files.readString(Path.of("/proc", Integer.toString(pid), "cgroup"));
    }

    /**
     * Moves a host process into the container's cgroups, in every hierarchy its init process is
     * in ({@code /proc/PID/cgroup}; cgroup v1 controllers under {@code /sys/fs/cgroup/<controller>},
     * v2 under {@code /sys/fs/cgroup} or {@code /sys/fs/cgroup/unified}), so that it counts as one
     * of the container's processes. Fails unless at least one move succeeded.
     */
    public void adopt(long processId) throws IOException {
        int moved = 0;
        for (String line : cgroup().split("\n")) {
            String[] f = line.split(":", 3);
            if (f.length < 3) {
                continue;
            }
            List<Path> dirs = f[1].isEmpty()
                    ? List.of(Path.of("/sys/fs/cgroup/unified" + f[2]), Path.of("/sys/fs/cgroup" + f[2]))
                    : List.of(Path.of("/sys/fs/cgroup/" + (f[1].startsWith("name=") ? f[1].substring(5) : f[1]) + f[2]));
            for (Path dir : dirs) {
                if (Files.isRegularFile(dir.resolve("cgroup.procs"))) {
                    Files.writeString(dir.resolve("cgroup.procs"), Long.toString(processId));
                    moved++;
                    break;
                }
            }
        }
        if (moved == 0) {
            throw new IOException("no cgroup of " + this + " to move process " + processId + " into: " + cgroup());
        }
    }

    /** Runs argv inside the container ({@code podman exec}); busybox applets only. */
    public CommandResult exec(String... argv) {
        List<String> all = new ArrayList<>(List.of("podman", "exec", name));
        all.addAll(List.of(argv));
        return Sh.run(all.toArray(String[]::new));
    }

    /** The container's output so far ({@code podman logs}, stdout and stderr). */
    public String logs() {
        CommandResult r = Sh.run("podman", "logs", name);
        return r.stdout() + r.stderr();
    }

    /**
     * A new {@link NetAgent} in the container's network namespace (entered by its sandbox path),
     * stopped when the container is removed. Its traffic is the container's traffic for every
     * rule in that namespace.
     */
    public synchronized Agent agent() throws IOException {
        Agent agent = Agent.startEntering(List.of("nsenter", "--net=" + sandboxKey, "--"), name);
        agents.add(agent);
        return agent;
    }

    /** Whether something listens on TCP {@code port} in the container's namespace ({@code /proc/PID/net/tcp*}). */
    public boolean listensTcp(int port) throws IOException {
        String hexPort = ":" + String.format(Locale.ROOT, "%04X", port);
        for (String table : List.of("tcp", "tcp6")) {
            Path file = Path.of("/proc", Integer.toString(pid), "net", table);
            if (!Files.exists(file)) {
                continue;
            }
            for (String line : Files.readAllLines(file)) {
                String[] f = line.trim().split("\\s+");
                if (f.length > 3 && f[1].endsWith(hexPort) && f[3].equals("0A")) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Removes the container now (idempotent); the kit would otherwise do it after the test. */
    public void remove() {
        owner.remove(this);
    }

    synchronized void stopAgents() {
        for (Agent agent : agents) {
            agent.close();
        }
        agents.clear();
    }

    @Override
    public String toString() {
        return name + "[id=" + id.substring(0, 12) + ", pid=" + pid + ", ip=" + ipv4 + ", netns=" + sandboxKey + "]";
    }
}
