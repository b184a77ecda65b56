package dev.netfence.netns;

import dev.netfence.enforce.EnforcementException;
import dev.netfence.enforce.ErrorCode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pins a container's network namespace through /proc, with the guards that keep netfence off
 * namespaces it must not touch. The namespace is pinned by bind-mounting {@code /proc/PID/ns/net}
 * onto a file in a private run directory ({@code mount --bind}, the same trick {@code ip netns}
 * uses); every later command enters that file, so a container that exits and a pid that is
 * reused mid-apply cannot redirect the rules into another namespace. We chose the bind mount over
 * re-checking the inode afterwards because a re-check only detects the redirection after rules
 * were already written somewhere else. Guards, checked on the pinned namespace: pid &gt; 1; not
 * netfence's own namespace nor the host's (pid 1's, when readable) by inode; when a containerId
 * is known and the cgroup check is on, {@code /proc/PID/cgroup} must name it; and the pid must
 * still be in the pinned namespace after the checks, so pid, cgroup and namespace belong together.
 */
public final class ProcNamespacePinner implements NamespacePinner {
    private static final Logger LOG = LoggerFactory.getLogger(ProcNamespacePinner.class);
    private static final Duration MOUNT_TIMEOUT = Duration.ofSeconds(10);

    private final CommandRunner runner;
    private final ContainerPidLookup lookup;
    private final Path procRoot;
    private final Path pinDirectory;
    private final boolean cgroupCheck;

    /**
     * @param procRoot normally {@code /proc}
     * @param pinDirectory where pin files are created, e.g. {@code /run/netfence/ns}
     * @param cgroupCheck whether a known containerId must appear in {@code /proc/PID/cgroup}
     */
    public ProcNamespacePinner(CommandRunner runner, ContainerPidLookup lookup, Path procRoot, Path pinDirectory,
            boolean cgroupCheck) {
        this.runner = Objects.requireNonNull(runner, "runner");
        this.lookup = Objects.requireNonNull(lookup, "lookup");
        this.procRoot = Objects.requireNonNull(procRoot, "procRoot");
        this.pinDirectory = Objects.requireNonNull(pinDirectory, "pinDirectory");
        this.cgroupCheck = cgroupCheck;
    }

    @Override
    public PinnedNamespace pin(Integer pid, String containerId, String runtime, Instant deadline) {
        int target = pid != null ? pid : lookup.pidOf(containerId, runtime, deadline);
        if (target <= 1) {
            throw new EnforcementException(ErrorCode.HOST_NAMESPACE_REFUSED,
                    "pid " + target + " refused: only a container process (pid > 1) can be targeted");
        }
        Path procPid = procRoot.resolve(Integer.toString(target));
        Path nsLink = procPid.resolve("ns/net");
        NamespaceId before = idOf(nsLink, target).orElseThrow(() -> gone(target));
        Path pinFile = createPinFile();
        try {
            mount(nsLink, pinFile, procPid, target);
        } catch (RuntimeException e) {
            deleteQuietly(pinFile);
            throw e;
        }
        try {
            NamespaceId pinned = idOf(pinFile, target).orElseThrow(() -> gone(target));
            if (!pinned.equals(before)) {
                throw new EnforcementException(ErrorCode.CONTAINER_NOT_FOUND,
                        "pid " + target + " changed network namespace while being pinned (exited and reused?)");
            }
            refuseHostNamespaces(pinned, target);
            if (cgroupCheck && containerId != null) {
                checkCgroup(procPid, target, containerId);
            }
            NamespaceId after = idOf(nsLink, target).orElseThrow(() -> gone(target));
            if (!after.equals(pinned)) {
                throw new EnforcementException(ErrorCode.CONTAINER_NOT_FOUND,
                        "pid " + target + " left the pinned namespace during the checks (exited and reused?)");
            }
            return new PinnedNamespace(target, pinFile, pinned.inode(), () -> unpin(pinFile),
                    () -> idOf(nsLink, target).map(pinned::equals).orElse(false));
        } catch (RuntimeException e) {
            unpin(pinFile);
            throw e;
        }
    }

    private void refuseHostNamespaces(NamespaceId pinned, int target) {
        Optional<NamespaceId> own = idOf(procRoot.resolve("self/ns/net"), -1);
        if (own.isEmpty()) {
            throw new EnforcementException(ErrorCode.INTERNAL, "cannot read netfence's own network namespace");
        }
        if (pinned.equals(own.get())) {
            throw new EnforcementException(ErrorCode.HOST_NAMESPACE_REFUSED,
                    "pid " + target + " shares netfence's own network namespace (inode " + pinned.inode() + ")");
        }
        Optional<NamespaceId> host = idOf(procRoot.resolve("1/ns/net"), 1);
        if (host.isPresent() && pinned.equals(host.get())) {
            throw new EnforcementException(ErrorCode.HOST_NAMESPACE_REFUSED,
                    "pid " + target + " is in the host's network namespace (inode " + pinned.inode() + ")");
        }
    }

    private void checkCgroup(Path procPid, int target, String containerId) {
        String cgroup;
        try {
            cgroup = Files.readString(procPid.resolve("cgroup"), StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw gone(target);
        } catch (IOException e) {
            throw new EnforcementException(ErrorCode.NAMESPACE_MISMATCH,
                    "cannot read the cgroup of pid " + target + ": " + e.getMessage(), e);
        }
        if (!cgroup.contains(containerId)) {
            throw new EnforcementException(ErrorCode.NAMESPACE_MISMATCH,
                    "pid " + target + " does not belong to container " + containerId + " (cgroup: "
                            + cgroup.strip().replace('\n', ' ') + ")");
        }
    }

    private Path createPinFile() {
        try {
            Files.createDirectories(pinDirectory);
            return Files.createFile(pinDirectory.resolve(UUID.randomUUID().toString()));
        } catch (IOException e) {
            throw new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE,
                    "cannot create a pin file in " + pinDirectory + ": " + e, e);
        }
    }

    private void mount(Path nsLink, Path pinFile, Path procPid, int target) {
        List<String> argv = List.of("mount", "--bind", nsLink.toString(), pinFile.toString());
        CommandResult result;
        try {
            result = runner.run(argv, new byte[0], MOUNT_TIMEOUT);
        } catch (IOException | CommandTimeoutException e) {
            throw new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE, "cannot pin the namespace: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EnforcementException(ErrorCode.INTERNAL, "interrupted pinning the namespace", e);
        }
        if (!result.ok()) {
            if (!Files.exists(procPid)) {
                throw gone(target);
            }
            throw new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE,
                    "mount --bind of " + nsLink + " failed (exit " + result.exitCode() + "): " + result.stderr().strip());
        }
    }

    private void unpin(Path pinFile) {
        try {
            CommandResult result = runner.run(List.of("umount", pinFile.toString()), new byte[0], MOUNT_TIMEOUT);
            if (!result.ok()) {
                LOG.warn("umount {} failed (exit {}): {}", pinFile, result.exitCode(), result.stderr().strip());
            }
        } catch (IOException | CommandTimeoutException e) {
            LOG.warn("umount {} failed: {}", pinFile, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            LOG.warn("interrupted unmounting {}", pinFile);
        }
        deleteQuietly(pinFile);
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            LOG.warn("cannot delete pin file {}: {}", file, e.getMessage());
        }
    }

    /** The namespace's identity, empty when the path is gone (or, for pid 1, unreadable). */
    private static Optional<NamespaceId> idOf(Path path, int pid) {
        try {
            long dev = ((Number) Files.getAttribute(path, "unix:dev")).longValue();
            long ino = ((Number) Files.getAttribute(path, "unix:ino")).longValue();
            return Optional.of(new NamespaceId(dev, ino));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (AccessDeniedException e) {
            if (pid == 1) {
                LOG.debug("cannot read the host's namespace {}; relying on the own-namespace check", path);
                return Optional.empty();
            }
            throw new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE, "not permitted to read " + path, e);
        } catch (IOException e) {
            throw new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE, "cannot read " + path + ": " + e, e);
        }
    }

    private static EnforcementException gone(int pid) {
        return new EnforcementException(ErrorCode.CONTAINER_NOT_FOUND, "process " + pid + " does not exist");
    }

    /** A namespace's identity: device and inode of its nsfs file. */
    private record NamespaceId(long dev, long inode) {}
}
