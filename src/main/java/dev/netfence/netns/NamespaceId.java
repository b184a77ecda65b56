package dev.netfence.netns;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * A namespace's identity as the kernel reports it for its nsfs file: device and inode, which
 * {@code stat} shows through {@code /proc/PID/ns/net}, through {@code /proc/PID/fd/N} of a
 * descriptor that holds it, and through a bind mount alike. Two live namespaces never share it;
 * a freed namespace's inode number is handed to new namespaces, so an identity is only worth
 * comparing while something (a pin, a live process) keeps its namespace alive.
 */
public record NamespaceId(long device, long inode) {

    /**
     * The identity of the namespace {@code path} leads to (following symbolic and /proc magic
     * links); the {@link IOException}s of {@code stat}, e.g. {@code NoSuchFileException} when a
     * process is gone. Through {@link Statx} where it is linked, else the JDK.
     */
    public static NamespaceId of(Path path) throws IOException {
        NamespaceId fast = Statx.identity(path);
        return fast != null ? fast : viaJdk(path);
    }

    /** The same identity as the JDK reports it. */
    static NamespaceId viaJdk(Path path) throws IOException {
        Map<String, Object> attributes = Files.readAttributes(path, "unix:dev,ino");
        return new NamespaceId(((Number) attributes.get("dev")).longValue(), ((Number) attributes.get("ino")).longValue());
    }
}
