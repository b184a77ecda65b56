package dev.netfence.cli;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * This host's name for labelling output, without ever failing: the kernel's host name
 * ({@code /proc/sys/kernel/hostname}, what {@code uname -n} prints; no DNS), else
 * {@code HOSTNAME}, else what {@link InetAddress#getLocalHost()} says, else {@code localhost}.
 * {@code InetAddress.getLocalHost()} alone throws on a host whose name does not resolve, which
 * made {@code netfence apply} crash after it had applied the rules.
 */
final class HostName {
    private HostName() {}

    /**
     * The node id {@code run --node-id} and {@code publish --node} default to, the same for both
     * (an event published with one and read with the other must name the same node):
     * {@code HOSTNAME}, else what {@link InetAddress#getLocalHost()} says, else {@code localhost}.
     */
    static String defaultNodeId() {
        return defaultNodeId(System.getenv("HOSTNAME"));
    }

    static String defaultNodeId(String env) {
        String known = knownNodeId(env);
        return known != null ? known : "localhost";
    }

    /** As {@link #defaultNodeId(String)}, null where neither names this host. */
    static String knownNodeId(String env) {
        if (env != null && !env.isBlank()) {
            return env.strip();
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    static String orFallback() {
        return orFallback(Path.of("/proc/sys/kernel/hostname"), System.getenv("HOSTNAME"));
    }

    static String orFallback(Path kernelHostname, String env) {
        try {
            String kernel = Files.readString(kernelHostname, StandardCharsets.UTF_8).strip();
            if (!kernel.isEmpty()) {
                return kernel;
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or no /proc: try the others
        }
        return defaultNodeId(env);
    }
}
