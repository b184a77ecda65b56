package dev.netfence.netns;

import com.sun.jna.LastErrorException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Whether a process's network namespace was made by the runtime or inside the container, from
 * the user namespaces that own them ({@code ioctl NS_GET_USERNS} and {@code NS_GET_PARENT}): a
 * runtime makes a container's network namespace in its own user namespace, which owns the
 * container's pid namespace too or is an ancestor of the one that does (a container given a user
 * namespace of its own); a workload with no capability can make a network namespace only inside a
 * user namespace of its own ({@code unshare -Urn}, which podman's default seccomp profile allows),
 * a descendant of its pid namespace's owner, and a process cannot leave its pid namespace. So a
 * network namespace whose owner is neither the pid namespace's owner nor one of its ancestors is a
 * decoy the workload made, and the container's real one holds whatever it left behind.
 * (Chromium-style sandboxes that give child processes such namespaces are not affected: the event
 * names the container's process, whose namespace is the runtime's.) Unknown where JNA cannot load
 * libc or the namespaces cannot be read.
 */
public final class UserNamespaceAncestry {
    private static final long NS_GET_USERNS = 0xb701;
    private static final long NS_GET_PARENT = 0xb702;
    /** The kernel's limit on nested user namespaces. */
    private static final int MAX_DEPTH = 33;

    private UserNamespaceAncestry() {}

    /**
     * The user namespace that owns the network namespace {@code netFile} leads to ({@code ioctl
     * NS_GET_USERNS}); empty where JNA cannot load libc or the namespace cannot be read.
     */
    public static Optional<NamespaceId> ownerOf(Path netFile) {
        Optional<NativeDescriptors.Libc> loaded = NativeDescriptors.libc();
        if (loaded.isEmpty()) {
            return Optional.empty();
        }
        int net = -1;
        int owner = -1;
        try {
            net = loaded.get().open(netFile.toString(), NativeDescriptors.O_RDONLY_CLOEXEC);
            owner = loaded.get().ioctl(net, NS_GET_USERNS);
            return Optional.of(NamespaceId.of(Path.of("/proc/self/fd/" + owner)));
        } catch (LastErrorException | IOException e) {
            return Optional.empty();
        } finally {
            NativeDescriptors.closeQuietly(owner);
            NativeDescriptors.closeQuietly(net);
        }
    }

    /**
     * Whether the network namespace of the process at {@code procPid} ({@code /proc/PID} or a
     * thread's directory) is owned by its pid namespace's owner or an ancestor of it: false for a
     * decoy; empty when that cannot be told.
     */
    public static Optional<Boolean> runtimeMade(Path procPid) {
        return runtimeMade(procPid.resolve("ns/net"), procPid.resolve("ns/pid"));
    }

    /**
     * Whether the network namespace {@code netFile} leads to is owned by the owner of the pid
     * namespace {@code pidFile} leads to or an ancestor of it (see {@link #runtimeMade(Path)}).
     */
    public static Optional<Boolean> runtimeMade(Path netFile, Path pidFile) {
        Optional<NativeDescriptors.Libc> loaded = NativeDescriptors.libc();
        if (loaded.isEmpty()) {
            return Optional.empty();
        }
        NativeDescriptors.Libc libc = loaded.get();
        int net = -1;
        int pid = -1;
        int owner = -1;
        int current = -1;
        try {
            net = libc.open(netFile.toString(), NativeDescriptors.O_RDONLY_CLOEXEC);
            pid = libc.open(pidFile.toString(), NativeDescriptors.O_RDONLY_CLOEXEC);
            owner = libc.ioctl(net, NS_GET_USERNS);
            NamespaceId netOwner = NamespaceId.of(Path.of("/proc/self/fd/" + owner));
            current = libc.ioctl(pid, NS_GET_USERNS);
            for (int depth = 0; depth < MAX_DEPTH; depth++) {
                if (NamespaceId.of(Path.of("/proc/self/fd/" + current)).equals(netOwner)) {
                    return Optional.of(true);
                }
                int parent;
                try {
                    parent = libc.ioctl(current, NS_GET_PARENT);
                } catch (LastErrorException top) { // EPERM: the top this process can see (the initial one)
                    return Optional.of(false);
                }
                NativeDescriptors.closeQuietly(current);
                current = parent;
            }
            return Optional.empty();
        } catch (LastErrorException | IOException e) {
            return Optional.empty();
        } finally {
            NativeDescriptors.closeQuietly(current);
            NativeDescriptors.closeQuietly(owner);
            NativeDescriptors.closeQuietly(pid);
            NativeDescriptors.closeQuietly(net);
        }
    }
}
