package dev.netfence.netns;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * netfence's own network namespace, held open by a descriptor for as long as the service runs, so
 * a thread that entered a container's namespace with {@code setns(2)} can go back home and prove
 * it did ({@link #id()}). It is opened through {@link NamespaceHandle} so the descriptor is known
 * to the pinner's descriptor search and never mistaken for a freshly pinned container namespace.
 */
public final class OwnNamespace implements AutoCloseable {
    private final NamespaceHandle handle;
    private final NamespaceId id;

    private OwnNamespace(NamespaceHandle handle, NamespaceId id) {
        this.handle = handle;
        this.id = id;
    }

    /**
     * Holds the namespace {@code procRoot/self/ns/net} names (the thread-group leader's, which
     * never leaves it).
     */
    public static OwnNamespace hold(Path procRoot) throws IOException {
        Objects.requireNonNull(procRoot, "procRoot");
        Path link = procRoot.resolve("self/ns/net");
        NamespaceId id = NamespaceId.of(link);
        NamespaceHandle handle = NamespaceHandle.open(procRoot, link, id)
                .orElseThrow(() -> new IOException("netfence's own namespace changed while it was opened"));
        return new OwnNamespace(handle, id);
    }

    /** The descriptor number to pass to {@code setns}. */
    public int descriptor() {
        return handle.descriptor();
    }

    /** Device and inode of netfence's own namespace. */
    public NamespaceId id() {
        return id;
    }

    @Override
    public void close() throws IOException {
        handle.close();
    }
}
