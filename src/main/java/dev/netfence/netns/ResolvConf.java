package dev.netfence.netns;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads the nameservers a container resolves with, from its own {@code resolv.conf} (seen
 * through {@code /proc/PID/root/etc/resolv.conf}, so bind mounts inside the container count).
 * Only {@code nameserver} lines whose value is a plain IPv4 or IPv6 literal are kept; comments,
 * other directives, zone-scoped addresses ({@code fe80::1%eth0}) and junk are ignored, because
 * every kept address ends up in a firewall rule. A missing file means no nameservers.
 */
public final class ResolvConf {
    private static final Pattern V4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
    private static final Pattern V6 = Pattern.compile("[0-9a-fA-F:.]{2,45}");
    /** glibc reads at most three; a few more costs nothing, hundreds would be an attack. */
    private static final int MAX_NAMESERVERS = 16;
    private static final long MAX_BYTES = 64 * 1024;

    private ResolvConf() {}

    /** The nameservers of the container whose init process is {@code pid}. */
    public static List<InetAddress> readForPid(Path procRoot, int pid) throws IOException {
        return read(procRoot.resolve(Integer.toString(pid)).resolve("root/etc/resolv.conf"));
    }

    /** The nameservers listed in {@code file}, in file order without duplicates; none when missing. */
    public static List<InetAddress> read(Path file) throws IOException {
        byte[] bytes;
        try {
            if (Files.size(file) > MAX_BYTES) {
                throw new IOException("resolv.conf larger than " + MAX_BYTES + " bytes: " + file);
            }
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return List.of();
        }
        return parse(new String(bytes, StandardCharsets.UTF_8));
    }

    /** The nameservers listed in resolv.conf text. */
    public static List<InetAddress> parse(String text) {
        Set<InetAddress> servers = new LinkedHashSet<>();
        for (String raw : text.split("\n", -1)) {
            String line = stripComment(raw).trim();
            String[] words = line.split("[ \t]+");
            if (words.length < 2 || !words[0].equals("nameserver")) {
                continue;
            }
            literal(words[1]).ifPresent(servers::add);
            if (servers.size() == MAX_NAMESERVERS) {
                break;
            }
        }
        return List.copyOf(new ArrayList<>(servers));
    }

    private static String stripComment(String line) {
        int hash = line.indexOf('#');
        int semi = line.indexOf(';');
        int cut = hash < 0 ? semi : semi < 0 ? hash : Math.min(hash, semi);
        return cut < 0 ? line : line.substring(0, cut);
    }

    /** An IP literal parsed without any DNS lookup, or empty when the word is not one. */
    public static java.util.Optional<InetAddress> literal(String word) {
        String w = word.toLowerCase(Locale.ROOT);
        boolean v4 = V4.matcher(w).matches();
        boolean v6 = !v4 && w.contains(":") && V6.matcher(w).matches();
        if (!v4 && !v6) {
            return java.util.Optional.empty();
        }
        if (v4) {
            for (String octet : w.split("\\.")) {
                if (Integer.parseInt(octet) > 255 || (octet.length() > 1 && octet.startsWith("0"))) {
                    return java.util.Optional.empty();
                }
            }
        }
        try {
            // only digits, dots and colons reach here, so getByName parses and never resolves
            return java.util.Optional.of(InetAddress.getByName(w));
        } catch (UnknownHostException e) {
            return java.util.Optional.empty();
        }
    }
}
