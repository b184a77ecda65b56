package dev.netfence.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The root file system of the test containers, built once per test JVM: a temporary directory
 * with a copy of the host's static busybox ({@code busybox-static}) as {@code /bin/busybox}, a
 * relative symlink per applet ({@code /bin/sh}, {@code /bin/httpd}, {@code /bin/sleep}, ...), the
 * mount points podman needs, and {@code /www/index.html} for the peer's httpd, readable by any
 * uid (a container in a user namespace of its own maps its root to another one). Deleted when the
 * JVM exits. Busybox's network clients ({@code wget}, {@code nc} to a host) crash in this static
 * build (its resolver), so tests probe from the host side ({@link Agent}); its servers work.
 * {@link PodmanContainers}' shutdown hook deletes it after removing the containers that use it
 * (one hook, because the JVM runs hooks concurrently).
 */
public final class BusyboxRootfs {
    private static final List<Path> BUSYBOX_CANDIDATES = List.of(Path.of("/bin/busybox"), Path.of("/usr/bin/busybox"));
    /** The body {@code /www/index.html} serves. */
    static final String INDEX = "netfence test peer\n";

    private static Path built;

    private BusyboxRootfs() {}

    /** The rootfs directory, built on first use (a test may put a file there that its containers see). */
    public static synchronized Path get() {
        if (built == null) {
            built = build();
        }
        return built;
    }

    /** Why no rootfs can be built here, or null when it can. */
    static String unavailable() {
        return BUSYBOX_CANDIDATES.stream().anyMatch(Files::isExecutable) ? null
                : "busybox not found at " + BUSYBOX_CANDIDATES + " (apt-get install -y busybox-static)";
    }

    private static Path build() {
        Path busybox = BUSYBOX_CANDIDATES.stream().filter(Files::isExecutable).findFirst()
                .orElseThrow(() -> new IllegalStateException(unavailable()));
        try {
            Path root = Files.createTempDirectory("nf-rootfs-");
            // 0755, not the temporary directory's 0700: a container whose root is mapped to another uid
            // (--uidmap, a user namespace of its own) must be able to enter it
            Files.setPosixFilePermissions(root, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
            for (String dir : List.of("bin", "etc", "tmp", "proc", "sys", "dev", "run", "www")) {
                Files.createDirectories(root.resolve(dir));
            }
            Files.copy(busybox, root.resolve("bin/busybox"), StandardCopyOption.COPY_ATTRIBUTES);
            for (String applet : Sh.ok(busybox.toString(), "--list").split("\n")) {
                String name = applet.strip();
                if (!name.isEmpty() && !name.equals("busybox") && !name.contains("/")) {
                    Files.createSymbolicLink(root.resolve("bin").resolve(name), Path.of("busybox"));
                }
            }
            Files.writeString(root.resolve("www/index.html"), INDEX, StandardCharsets.UTF_8);
            Files.writeString(root.resolve("etc/passwd"), "root:x:0:0:root:/:/bin/sh\n", StandardCharsets.UTF_8);
            Files.writeString(root.resolve("etc/group"), "root:x:0:\n", StandardCharsets.UTF_8);
            // the files podman mounts over: made here, as root, since a container whose root is mapped
            // to another uid cannot make them in a directory root owns
            for (String file : List.of("etc/resolv.conf", "etc/hosts", "etc/hostname", "run/.containerenv")) {
                Files.writeString(root.resolve(file), "", StandardCharsets.UTF_8);
            }
            return root;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot build the busybox rootfs", e);
        }
    }

    /** Deletes the rootfs if it was built; for the end of the run, after its containers are gone. */
    static synchronized void deleteIfBuilt() {
        if (built != null) {
            deleteTree(built);
            built = null;
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            // best effort at exit
        }
    }
}
