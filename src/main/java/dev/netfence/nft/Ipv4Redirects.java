package dev.netfence.nft;

import dev.netfence.netns.ProcFile;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Whether the IPv4 stack of the namespace the calling thread is in ever took an ICMP redirect, from
 * its counters ({@code /proc/thread-self/net/snmp}, {@code Icmp: InRedirects}: counted for every
 * redirect the ICMP layer takes, before it acts on it; the counter never goes down). Only then can
 * the namespace hold a route a redirect taught it, and only then does {@link ConntrackFlush} write
 * {@code /proc/sys/net/ipv4/route/flush} to forget it. The read replaces that write on every other
 * apply because a path under {@code /proc/sys/net} costs more the more network namespaces the node
 * has: the kernel caches one {@code net} entry under {@code /proc/sys} for each namespace in which
 * anything looked a path up there, all of one name, and compares a lookup with them one by one
 * under a global lock until it finds its own (a namespace's first lookup walks them all), where
 * {@code /proc/thread-self/net} is the thread's own. With few namespaces the write is the cheaper
 * of the two (≈ 12 against 43 µs warm on a 2-CPU VM with 25); with a thousand, the first write
 * in a namespace took ≈ 0.5 ms and one from an old namespace ≈ 0.25 ms. True when the counters
 * cannot be read or parsed: no listing is no proof of nothing.
 * Runs on a namespace thread while away; never logs.
 */
final class Ipv4Redirects {
    private static final Path SNMP = Path.of("/proc/thread-self/net/snmp");
    private static final String HEADER = "Icmp: ";
    private static final String COLUMN = "InRedirects";
    private Ipv4Redirects() {}

    /** Whether the calling thread's namespace ever took an IPv4 redirect; true when that cannot be read. */
    static boolean heard() {
        try {
            return heard(ProcFile.read(SNMP, ProcFile.LIMIT));
        } catch (IOException e) {
            return true;
        }
    }

    /**
     * Whether {@code snmp}, the text of a namespace's {@code net/snmp}, counts a redirect taken:
     * the {@code Icmp:} line of names holding {@code InRedirects}, and the {@code Icmp:} line of
     * numbers right after it, whose number in that column is not 0; true when either is missing or
     * that field is not a number.
     */
    static boolean heard(String snmp) {
        int names = snmp.startsWith(HEADER) ? 0 : snmp.indexOf("\n" + HEADER) + 1;
        if (names == 0 && !snmp.startsWith(HEADER)) {
            return true; // no Icmp line at all
        }
        int namesEnd = lineEnd(snmp, names);
        if (!snmp.startsWith(HEADER, namesEnd + 1)) {
            return true;
        }
        String[] columns = snmp.substring(names + HEADER.length(), namesEnd).split(" ");
        String[] values = snmp.substring(namesEnd + 1 + HEADER.length(), lineEnd(snmp, namesEnd + 1)).split(" ");
        for (int i = 0; i < columns.length; i++) {
            if (columns[i].equals(COLUMN)) {
                return i >= values.length || !ZEROS.matcher(values[i]).matches();
            }
        }
        return true;
    }

    private static final java.util.regex.Pattern ZEROS = java.util.regex.Pattern.compile("0+");

    private static int lineEnd(String text, int from) {
        int end = text.indexOf('\n', from);
        return end < 0 ? text.length() : end;
    }
}
