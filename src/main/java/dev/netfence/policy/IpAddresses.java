package dev.netfence.policy;

import java.net.InetAddress;
import java.util.Objects;

/**
 * Strict, DNS-free parsing and canonical printing of IP address literals. Parsing accepts only
 * dotted-quad IPv4 (no leading zeros, no shorthand) and RFC 4291 IPv6 text (at most one
 * {@code ::}, optional trailing dotted quad, no zone id); it never calls
 * {@link InetAddress#getByName}, which would happily resolve a hostname. Printing reproduces
 * exactly what glibc's {@code inet_ntop} (and therefore {@code iptables-save}) prints, so
 * rendered rules compare equal to their read-back.
 */
public final class IpAddresses {
    private IpAddresses() {}

    /** The 4 bytes of a strict dotted-quad IPv4 literal, or null when {@code text} is not one. */
    public static byte[] parseIpv4(String text) {
        Objects.requireNonNull(text, "text");
        String[] parts = text.split("\\.", -1);
        if (parts.length != 4) {
            return null;
        }
        byte[] out = new byte[4];
        for (int i = 0; i < 4; i++) {
            String p = parts[i];
            if (p.isEmpty() || p.length() > 3 || (p.length() > 1 && p.charAt(0) == '0')) {
                return null;
            }
            int v = 0;
            for (int k = 0; k < p.length(); k++) {
                char c = p.charAt(k);
                if (c < '0' || c > '9') {
                    return null;
                }
                v = v * 10 + (c - '0');
            }
            if (v > 255) {
                return null;
            }
            out[i] = (byte) v;
        }
        return out;
    }

    /** The 16 bytes of an IPv6 literal (no brackets, no zone), or null when it is not one. */
    public static byte[] parseIpv6(String text) {
        Objects.requireNonNull(text, "text");
        if (text.length() < 2 || text.length() > 45) {
            return null;
        }
        int gap = text.indexOf("::");
        if (gap >= 0 && text.indexOf("::", gap + 1) >= 0) {
            return null;
        }
        int[] head = groups(gap >= 0 ? text.substring(0, gap) : text, gap < 0);
        int[] tail = gap >= 0 ? groups(text.substring(gap + 2), true) : new int[0];
        if (head == null || tail == null) {
            return null;
        }
        int total = head.length + tail.length;
        if ((gap < 0 && total != 8) || (gap >= 0 && total > 7)) {
            return null;
        }
        byte[] out = new byte[16];
        for (int i = 0; i < head.length; i++) {
            out[2 * i] = (byte) (head[i] >> 8);
            out[2 * i + 1] = (byte) head[i];
        }
        for (int i = 0; i < tail.length; i++) {
            int at = 8 - tail.length + i;
            out[2 * at] = (byte) (tail[i] >> 8);
            out[2 * at + 1] = (byte) tail[i];
        }
        return out;
    }

    /** 16-bit words of colon-separated hex groups (last may be a dotted quad), null if invalid. */
    private static int[] groups(String s, boolean v4Allowed) {
        if (s.isEmpty()) {
            return new int[0];
        }
        String[] parts = s.split(":", -1);
        int[] words = new int[parts.length + 1];
        int n = 0;
        for (int g = 0; g < parts.length; g++) {
            String p = parts[g];
            if (g == parts.length - 1 && v4Allowed && p.indexOf('.') >= 0) {
                byte[] v4 = parseIpv4(p);
                if (v4 == null) {
                    return null;
                }
                words[n++] = ((v4[0] & 0xff) << 8) | (v4[1] & 0xff);
                words[n++] = ((v4[2] & 0xff) << 8) | (v4[3] & 0xff);
                continue;
            }
            if (p.isEmpty() || p.length() > 4) {
                return null;
            }
            int v = 0;
            for (int k = 0; k < p.length(); k++) {
                int d = hexDigit(p.charAt(k));
                if (d < 0) {
                    return null;
                }
                v = v * 16 + d;
            }
            words[n++] = v;
        }
        return java.util.Arrays.copyOf(words, n);
    }

    private static int hexDigit(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }

    /** Whether {@code bytes} (16) is an IPv4-mapped IPv6 address {@code ::ffff:a.b.c.d}. */
    public static boolean isIpv4Mapped(byte[] bytes) {
        if (bytes.length != 16) {
            return false;
        }
        for (int i = 0; i < 10; i++) {
            if (bytes[i] != 0) {
                return false;
            }
        }
        return bytes[10] == (byte) 0xff && bytes[11] == (byte) 0xff;
    }

    /** Canonical text of a 4- or 16-byte address, exactly as glibc {@code inet_ntop} prints it. */
    public static String format(byte[] bytes) {
        if (bytes.length == 4) {
            return (bytes[0] & 0xff) + "." + (bytes[1] & 0xff) + "." + (bytes[2] & 0xff) + "." + (bytes[3] & 0xff);
        }
        if (bytes.length != 16) {
            throw new IllegalArgumentException("an IP address has 4 or 16 bytes, not " + bytes.length);
        }
        int[] w = new int[8];
        for (int i = 0; i < 8; i++) {
            w[i] = ((bytes[2 * i] & 0xff) << 8) | (bytes[2 * i + 1] & 0xff);
        }
        int bestBase = -1;
        int bestLen = 0;
        for (int i = 0; i < 8; ) {
            if (w[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && w[j] == 0) {
                j++;
            }
            if (j - i > bestLen) {
                bestBase = i;
                bestLen = j - i;
            }
            i = j;
        }
        if (bestLen < 2) {
            bestBase = -1;
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
                if (i == bestBase) {
                    sb.append(':');
                }
                continue;
            }
            if (i != 0) {
                sb.append(':');
            }
            if (i == 6 && bestBase == 0 && (bestLen == 6 || (bestLen == 5 && w[5] == 0xffff))) {
                sb.append(bytes[12] & 0xff).append('.').append(bytes[13] & 0xff).append('.')
                        .append(bytes[14] & 0xff).append('.').append(bytes[15] & 0xff);
                return sb.toString();
            }
            sb.append(Integer.toHexString(w[i]));
        }
        if (bestBase >= 0 && bestBase + bestLen == 8) {
            sb.append(':');
        }
        return sb.toString();
    }

    /** Canonical text of a resolved address (any IPv6 scope id is dropped). */
    public static String format(InetAddress address) {
        return format(address.getAddress());
    }

    /** The family of a 4- or 16-byte address. */
    public static Family familyOf(byte[] bytes) {
        return bytes.length == 4 ? Family.IPV4 : Family.IPV6;
    }
}
