package dev.netfence.netns;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Whether this process holds, in its effective set ({@code CapEff} of {@code /proc/self/status}),
 * the capabilities enforcing needs, checked once at start so that a missing one fails the start
 * instead of some applies: {@code CAP_SYS_ADMIN} (entering a container's namespace),
 * {@code CAP_NET_ADMIN} (writing its firewall) and {@code CAP_SYS_PTRACE}. Without the last the
 * kernel refuses to open or even stat {@code /proc/PID/ns/net} of a process that made itself
 * non-dumpable ({@code prctl(PR_SET_DUMPABLE, 0)}, which needs no capability), runs under another
 * uid, or holds a capability netfence lacks: the workload would decide whether it can be pinned,
 * and a container that cannot be pinned can have neither its policy nor a quarantine written, so
 * it would keep whatever it had, a policy revoked since or none. Docker's default set does not
 * include it.
 */
public final class PinPrivileges {
    private static final int CAP_NET_ADMIN = 12;
    private static final int CAP_SYS_PTRACE = 19;
    private static final int CAP_SYS_ADMIN = 21;

    private PinPrivileges() {}

    /** What this process lacks, as one sentence for the operator; empty when it holds all three. */
    public static Optional<String> missing(Path procRoot) throws IOException {
        return missingIn(ProcFile.read(procRoot.resolve("self").resolve("status")));
    }

    /**
     * {@link #missing} from a {@code /proc/self/status} text; {@link IllegalArgumentException} when
     * it has no {@code CapEff} line.
     */
    static Optional<String> missingIn(String status) {
        long effective = effective(status);
        List<String> lacking = new ArrayList<>();
        if ((effective & (1L << CAP_SYS_ADMIN)) == 0) {
            lacking.add("CAP_SYS_ADMIN (to enter a container's network namespace)");
        }
        if ((effective & (1L << CAP_NET_ADMIN)) == 0) {
            lacking.add("CAP_NET_ADMIN (to write its firewall)");
        }
        if ((effective & (1L << CAP_SYS_PTRACE)) == 0) {
            lacking.add("CAP_SYS_PTRACE (without it the kernel refuses to open /proc/PID/ns/net of a process that made"
                    + " itself non-dumpable, runs as another user or holds a capability netfence lacks, so such a"
                    + " workload could keep its container from ever being fenced)");
        }
        if (lacking.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of("netfence lacks " + String.join(", ", lacking) + " in its effective capabilities; run it as"
                + " root on the host, or grant them (docker: cap_add SYS_ADMIN, NET_ADMIN, SYS_PTRACE)");
    }

    private static long effective(String status) {
        int at = status.startsWith("CapEff:") ? 0 : status.indexOf("\nCapEff:") + 1;
        if (at == 0 && !status.startsWith("CapEff:")) {
            throw new IllegalArgumentException("no CapEff line in the process status");
        }
        int end = status.indexOf('\n', at);
        return Long.parseUnsignedLong(status.substring(at + "CapEff:".length(), end < 0 ? status.length() : end).strip(), 16);
    }
}
