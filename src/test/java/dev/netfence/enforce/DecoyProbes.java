package dev.netfence.enforce;

import dev.netfence.netns.NamespaceId;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.Python;
import dev.netfence.testkit.Sh;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * What the decoy tests look at as the workload would: whether a process's namespace reaches a
 * peer's web server, when a container's pid 1 has left the runtime's namespace for one of its own,
 * and which process of the container stayed behind; and the enforcer they all run (the real
 * backends, short back-offs). Shared by the podman tests of a pid 1 that moves or a path that is
 * stale ({@link DecoyNamespacePodmanTest}, {@link PolicylessDecoyPodmanTest},
 * {@link StalePathPodmanTest}).
 */
final class DecoyProbes {
    private DecoyProbes() {}

    /** The production enforcer on this machine's backends, with {@code cgroupCheck} and short back-offs. */
    static DefaultEnforcer enforcer(boolean cgroupCheck) {
        EnforcerConfig config = EnforcerConfig.custom().backend(dev.netfence.netns.BackendChoice.AUTO)
                .cgroupCheck(cgroupCheck).backoff(java.time.Duration.ofMillis(10), java.time.Duration.ofMillis(50)).build();
        return new DefaultEnforcer(config, new dev.netfence.netns.ProcessCommandRunner(), java.time.Clock.systemUTC(),
                new io.micrometer.core.instrument.simple.SimpleMeterRegistry());
    }

    /** Whether {@code pid}'s namespace can open a TCP connection to {@code port} of the peer. */
    static boolean reaches(int pid, PodmanContainer peer, int port) {
        return Sh.run("nsenter", "-t", Integer.toString(pid), "-n", "--", Python.EXE, "-c",
                "import socket, sys; socket.create_connection((sys.argv[1], " + port + "), 2).close()", peer.ipv4())
                .exitCode() == 0;
    }

    /** Waits (10 s at most) until {@code c}'s pid is in another network namespace than inode {@code real}. */
    static void awaitMoved(PodmanContainer c, long real) throws Exception {
        for (int i = 0; i < 200; i++) {
            if (NamespaceId.of(Path.of("/proc", Integer.toString(c.pid()), "ns", "net")).inode() != real) {
                return;
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException(c + " did not move into a namespace of its own: " + c.logs());
    }

    /** A process whose cgroup names {@code c} and whose network namespace has inode {@code inode}. */
    static Optional<Integer> processIn(PodmanContainer c, long inode) throws Exception {
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            return procs.filter(p -> p.getFileName().toString().matches("\\d+")).filter(p -> {
                try {
                    return Files.readString(p.resolve("cgroup")).contains(c.id())
                            && NamespaceId.of(p.resolve("ns/net")).inode() == inode;
                } catch (Exception gone) {
                    return false;
                }
            }).map(p -> Integer.parseInt(p.getFileName().toString())).findFirst();
        }
    }
}
