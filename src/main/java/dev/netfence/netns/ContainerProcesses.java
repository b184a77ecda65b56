package dev.netfence.netns;

import java.io.IOException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Finds a process of a container in a network namespace by scanning {@code /proc}: one whose
 * namespace is the one given and whose cgroup names the container's whole id the way a runtime
 * writes it ({@link CgroupMembership#names}). Used where the pid netfence recorded or was given
 * is not in the container's namespace any more (the workload moved it into a namespace of its own)
 * but processes it left behind are, so that the namespace is still treated as the container's.
 * One stat per process, and a cgroup read per process in that namespace: paid only on that path.
 */
public final class ContainerProcesses {
    private ContainerProcesses() {}

    /** A process (pid > 1) in {@code netns} whose cgroup names {@code containerId}; empty when none is or the scan fails. */
    public static Optional<Integer> in(Path procRoot, String containerId, NamespaceId netns) {
        if (!CgroupMembership.acceptableId(containerId)) {
            return Optional.empty();
        }
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(procRoot,
                p -> isPid(p.getFileName().toString()))) {
            for (Path proc : procs) {
                int pid = Integer.parseInt(proc.getFileName().toString());
                if (pid > 1 && inNamespace(proc, netns) && ofContainer(proc, containerId)) {
                    return Optional.of(pid);
                }
            }
        } catch (IOException | DirectoryIteratorException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    private static boolean isPid(String name) {
        return !name.isEmpty() && name.length() <= 10 && name.chars().allMatch(c -> c >= '0' && c <= '9');
    }

    private static boolean inNamespace(Path proc, NamespaceId netns) {
        try {
            return NamespaceId.of(proc.resolve("ns/net")).equals(netns);
        } catch (IOException e) {
            return false; // gone, or its leader exited: its threads are not looked at here
        }
    }

    private static boolean ofContainer(Path proc, String containerId) {
        try {
            return CgroupMembership.names(ProcFile.read(proc.resolve("cgroup")), containerId);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
