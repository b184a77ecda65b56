package dev.netfence.netns;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The network capabilities a container process holds that let it get around rules in its own
 * namespace, read from {@code /proc/PID/status}: {@code CAP_NET_ADMIN} (bit 12: it can flush or
 * rewrite its rules) and {@code CAP_NET_RAW} (bit 13: AF_PACKET frames skip the OUTPUT chain).
 * A capability counts when it is in the effective set ({@code CapEff}, usable now) or in the
 * bounding set ({@code CapBnd}, which a root process regains by exec'ing a program), so a
 * workload that dropped it from its effective set only for show is still reported.
 */
public final class Capabilities {
    /** The risks netfence reports, by capability number, in report order. */
    private static final List<Risk> RISKS = List.of(new Risk("CAP_NET_ADMIN", 12), new Risk("CAP_NET_RAW", 13));

    private record Risk(String name, int bit) {}

    private Capabilities() {}

    /** The risky capabilities of {@code pid} as read from {@code procRoot/PID/status}, sorted by name. */
    public static List<String> risksOf(Path procRoot, int pid) throws IOException {
        return risksIn(Files.readString(procRoot.resolve(Integer.toString(pid)).resolve("status"), StandardCharsets.UTF_8));
    }

    /** The risky capabilities named by a {@code /proc/PID/status} text. */
    public static List<String> risksIn(String status) {
        long held = 0;
        boolean seen = false;
        for (String line : status.split("\n")) {
            if (line.startsWith("CapEff:") || line.startsWith("CapBnd:")) {
                held |= Long.parseUnsignedLong(line.substring(7).strip(), 16);
                seen = true;
            }
        }
        if (!seen) {
            throw new IllegalArgumentException("no CapEff/CapBnd line in the process status");
        }
        List<String> risks = new ArrayList<>();
        for (Risk risk : RISKS) {
            if ((held & (1L << risk.bit())) != 0) {
                risks.add(risk.name());
            }
        }
        return List.copyOf(risks);
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
            if (RISKS.stream().noneMatch(r -> r.name().equals(full))) {
                throw new IllegalArgumentException("must be a comma-separated list of NET_ADMIN, NET_RAW, was: " + value);
            }
            if (!out.contains(full)) {
                out.add(full);
            }
        }
        return Set.copyOf(out);
    }
}
