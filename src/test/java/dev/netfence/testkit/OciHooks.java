package dev.netfence.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;

/**
 * An OCI hooks directory for {@code podman --hooks-dir}: the shipped {@code scripts/netfence-hook}
 * at {@code createRuntime}, talking to the service's hook socket, and run only for containers
 * carrying the annotation {@code netfence.test.hook=<annotation>}, so no other container on the
 * machine is hooked. With {@code --on-unavailable refuse}: a start the service cannot fence fails.
 */
public final class OciHooks {
    private static final Path HOOK_SCRIPT = Path.of("scripts", "netfence-hook").toAbsolutePath();

    private OciHooks() {}

    /** A new hooks directory under {@code parent} whose hook talks to {@code socket} for containers annotated {@code annotation}. */
    public static Path dir(Path parent, Path socket, String annotation) throws IOException {
        Path hooks = Files.createDirectories(parent.resolve("hooks.d-" + UUID.randomUUID()));
        Files.writeString(hooks.resolve("netfence.json"), "{\"version\":\"1.0.0\",\"hook\":{\"path\":\"" + HOOK_SCRIPT
                + "\",\"args\":[\"netfence-hook\",\"--socket\",\"" + socket + "\",\"--on-unavailable\",\"refuse\","
                + "\"--timeout\",\"20\"]},\"when\":{\"annotations\":{\"^netfence\\\\.test\\\\.hook$\":\"^" + annotation
                + "$\"}},\"stages\":[\"createRuntime\"]}");
        return hooks;
    }
}
