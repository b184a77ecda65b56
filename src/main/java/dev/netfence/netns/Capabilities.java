package dev.netfence.netns;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The network capabilities a container process holds that let it get around rules in its own
 * namespace, read from {@code /proc/PID/status}: {@code CAP_NET_ADMIN} (bit 12: it can flush or
 * rewrite its rules) and {@code CAP_NET_RAW} (bit 13: AF_PACKET frames skip the OUTPUT chain).
 * A capability counts when it is in any of the process's sets: effective ({@code CapEff}, usable
 * now), permitted ({@code CapPrm}, raised back into the effective set by one {@code capset}),
 * inheritable ({@code CapInh}, regained by exec'ing a program with that file capability),
 * bounding ({@code CapBnd}, regained by a root process that execs a program) or ambient
 * ({@code CapAmb}). So a workload that dropped it from its effective and bounding sets only for
 * show, keeping it permitted, is still reported. One more risk is read from the same file though it
 * is no capability: {@code NO_SECCOMP}, a thread with no seccomp filter at all ({@code Seccomp: 0}),
 * which can use what a runtime's default profile refuses and no read of its threads shows:
 * io_uring, whose personalities keep capabilities dropped since, and {@code request_key}, whose
 * {@code dns_resolver} upcall resolves names from the host's namespace.
 */
public final class Capabilities {
    /** The risks netfence reports, by capability number, in report order. */
    private static final List<Risk> RISKS = List.of(new Risk("CAP_NET_ADMIN", 12), new Risk("CAP_NET_RAW", 13),
            new Risk(Capabilities.NO_SECCOMP, 61));

    private record Risk(String name, int bit) {}

    /** The risk of a thread with no seccomp filter (see the class comment). */
    public static final String NO_SECCOMP = "NO_SECCOMP";
    /** Not a capability (none has a number near it): {@link #NO_SECCOMP} in a mask. */
    public static final long NO_SECCOMP_BIT = 1L << 61;

    /** The bits of {@link #RISKS}. */
    private static final long RISKY = (1L << 12) | (1L << 13) | NO_SECCOMP_BIT;

    private Capabilities() {}

    /** The risky capabilities of {@code pid} as read from {@code procRoot/PID/status}, sorted by name. */
    public static List<String> risksOf(Path procRoot, int pid) throws IOException {
        return risksIn(ProcFile.read(procRoot.resolve(Integer.toString(pid)).resolve("status")));
    }

    /** The risky capabilities named by a {@code /proc/PID/status} text (see the class comment). */
    public static List<String> risksIn(String status) {
        return risksInMask(heldIn(status));
    }

    /**
     * Every capability in any of the sets of a {@code /proc/PID/status} text, as a bit mask (bit
     * N: capability number N); {@link IllegalArgumentException} when a set the kernel always
     * writes is missing or cut (no newline after its value).
     */
    public static long heldIn(String status) {
        // whole lines only: a text cut inside a set's value must not read as a set without the risky bits
        return scan(status).orElseThrow(() -> new IllegalArgumentException(
                "no whole CapInh/CapPrm/CapEff/CapBnd lines in the process status"));
    }

    /**
     * {@link #heldIn}'s mask when {@code status} (perhaps a prefix of the file) holds the four sets
     * every kernel writes each on a whole line (ended by its newline); empty when it does not, and
     * the whole file must be read. CapAmb may be missing or cut without loss: the kernel keeps the
     * ambient set within the permitted one.
     */
    public static java.util.OptionalLong heldInWholeLines(String status) {
        return scan(status);
    }

    /**
     * The union of the sets' masks; empty when a required set is missing or when a set's line has
     * no newline (a cut line: its value may be cut too).
     */
    private static java.util.OptionalLong scan(String status) {
        long held = 0;
        int seen = 0;
        // every line that starts with "Cap" (five of the ≈ 55), found with indexOf rather than line by line
        for (int at = status.startsWith("Cap") ? 0 : lineAfter(status, 0); at >= 0; at = lineAfter(status, at)) {
            int set = SETS.indexOf(status.substring(at, Math.min(status.length(), at + 7)));
            if (set >= 0) {
                int end = status.indexOf('\n', at);
                if (end < 0) {
                    break;
                }
                held |= Long.parseUnsignedLong(status.substring(at + 7, end).strip(), 16);
                seen |= 1 << set;
            }
        }
        if ((seen & REQUIRED) != REQUIRED) {
            return java.util.OptionalLong.empty();
        }
        return java.util.OptionalLong.of(noSeccomp(status) ? held | NO_SECCOMP_BIT : held);
    }

    /**
     * Whether {@code status} has a whole {@code Seccomp:} line whose mode is 0 (no filter); false
     * without one (a kernel built without seccomp writes none, and nothing can be told of it).
     */
    private static boolean noSeccomp(String status) {
        int at = status.indexOf("\nSeccomp:");
        if (at < 0) {
            return false;
        }
        int end = status.indexOf('\n', at + 1);
        return end >= 0 && status.substring(at + 9, end).strip().equals("0");
    }

    /** The capability sets of {@code /proc/PID/status}, each with its colon; CapAmb exists since Linux 4.3. */
    private static final List<String> SETS = List.of("CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:");
    /** The sets every kernel netfence runs on writes (all but CapAmb). */
    private static final int REQUIRED = 0b1111;

    /** The risky capabilities among the bit mask {@code held} (bit N: capability number N), in report order. */
    public static List<String> risksInMask(long held) {
        if ((held & RISKY) == 0) {
            return List.of();
        }
        List<String> risks = new ArrayList<>(RISKS.size());
        for (Risk risk : RISKS) {
            if ((held & (1L << risk.bit())) != 0) {
                risks.add(risk.name());
            }
        }
        return List.copyOf(risks);
    }

    /** Where the next line after {@code from} that starts with {@code Cap} begins, or -1. */
    private static int lineAfter(String status, int from) {
        int at = status.indexOf("\nCap", from);
        return at < 0 ? -1 : at + 1;
    }

    /**
     * Parses a {@code --refuse-capabilities} value: comma-separated capability names with or
     * without {@code CAP_} (NET_ADMIN, CAP_NET_RAW), case-insensitive; empty means none. Returns
     * the {@code CAP_} names; {@link IllegalArgumentException} naming the value otherwise.
     */
    public static Set<String> parseRefused(String value) {
        List<String> out = new ArrayList<>();
        if (value == null || value.isBlank()) {
            return Set.of();
        }
        for (String part : value.split(",")) {
            String name = part.strip().toUpperCase(Locale.ROOT);
            String full = name.startsWith("CAP_") ? name : "CAP_" + name;
            if (RISKS.stream().noneMatch(r -> r.name().equals(full) && r.name().startsWith("CAP_"))) {
                throw new IllegalArgumentException("must be a comma-separated list of NET_ADMIN, NET_RAW, was: " + value);
            }
            if (!out.contains(full)) {
                out.add(full);
            }
        }
        return Set.copyOf(out);
    }
}
