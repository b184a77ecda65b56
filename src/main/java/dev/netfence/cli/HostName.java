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
    private static final Path KERNEL_HOSTNAME = Path.of("/proc/sys/kernel/hostname");

    private HostName() {}

    /**
     * The node id {@code run --node-id} and {@code publish --node} default to, the same for both
     * (an event published with one and read with the other must name the same node), or null when
     * nothing names this host (both then refuse to start rather than guess): {@code HOSTNAME},
     * else the kernel's host name (what {@code uname -n} prints; no DNS, so a host whose name does
     * not resolve still has it), else what {@link InetAddress#getLocalHost()} says.
     */
    static String defaultNodeId() {
        return knownNodeId(KERNEL_HOSTNAME, System.getenv("HOSTNAME"));
    }

    /** As {@link #defaultNodeId()}, the kernel's host name read from {@code kernelHostname}. */
    static String knownNodeId(Path kernelHostname, String env) {
        if (env != null && !env.isBlank()) {
            return env.strip();
        }
        String kernel = kernel(kernelHostname);
        if (kernel != null) {
            return kernel;
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    static String orFallback() {
        return orFallback(KERNEL_HOSTNAME, System.getenv("HOSTNAME"));
    }

    /** The kernel's host name first (the label of an apply's outcome), then as the node id's default, else {@code localhost}. */
    static String orFallback(Path kernelHostname, String env) {
        String kernel = kernel(kernelHostname);
        if (kernel != null) {
            return kernel;
        }
        String known = knownNodeId(kernelHostname, env);
        return known != null ? known : "localhost";
    }

    private static String kernel(Path kernelHostname) {
        try {
            String kernel = Files.readString(kernelHostname, StandardCharsets.UTF_8).strip();
            return kernel.isEmpty() || kernel.equals("(none)") ? null : kernel; // "(none)": never set
        } catch (IOException | RuntimeException e) {
            return null; // not Linux, or no /proc: try the others
        }
    }
}
