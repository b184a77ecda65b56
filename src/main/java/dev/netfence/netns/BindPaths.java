package dev.netfence.netns;

import java.io.IOException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bind mounts of network namespaces a container runtime keeps in one directory (podman's and
 * netavark's {@code /run/netns}, Docker's {@code /var/run/docker/netns}), read in netfence's own
 * mount namespace, where a workload cannot add one: a namespace with such a path is one the
 * runtime made. Symbolic links are passed over: one is no bind mount, and a directory a rootless
 * runtime keeps belongs to the user the container's root maps to (helper 187). Used to tell a runtime's namespace from one a process of the container made, and
 * to name a namespace by its runtime's path where an event's path led elsewhere.
 */
public final class BindPaths {
    private static final Logger LOG = LoggerFactory.getLogger(BindPaths.class);

    private BindPaths() {}

    /**
     * The entries of {@code dir} by the namespace each leads to, the first of each in listing
     * order; empty when {@code dir} is null or cannot be listed.
     */
    public static Map<NamespaceId, String> in(Path dir) {
        Map<NamespaceId, String> paths = new HashMap<>();
        if (dir == null) {
            return paths;
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path entry : entries) {
                try {
                    if (Files.isSymbolicLink(entry)) {
                        continue; // a link is not a bind mount, and anyone who may write the directory can make one
                    }
                    paths.putIfAbsent(NamespaceId.of(entry), entry.toString());
                } catch (IOException notOne) {
                    // gone meanwhile, or not a namespace: the next
                }
            }
        } catch (IOException | DirectoryIteratorException e) {
            LOG.info("the runtime's namespace paths in {} could not be listed: {}", dir, e.toString());
        }
        return paths;
    }

    /** A path in {@code dir} that leads to {@code netns}, if there is one. */
    public static Optional<String> of(NamespaceId netns, Path dir) {
        return Optional.ofNullable(in(dir).get(netns));
    }
}
