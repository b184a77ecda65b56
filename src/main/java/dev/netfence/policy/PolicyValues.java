package dev.netfence.policy;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Parses the string values of a policy document (endpoints and CIDRs) into validated records,
 * or explains exactly why not. Every reason quotes the offending value (escaped, so control
 * characters and very long input cannot garble a log line) and says what was expected. The
 * seed split on ":" and checked "digits only", which accepted empty and out-of-range ports,
 * any prefix and any address; this class is the strict replacement.
 */
public final class PolicyValues {
    /** An RFC 1123 label: letters, digits and hyphens, not starting or ending with a hyphen. */
    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
    private static final Pattern DIGITS = Pattern.compile("[0-9]{1,5}");
    private static final int MAX_ENDPOINT_LENGTH = 270;

    private PolicyValues() {}

    /** The result of parsing one value: the record, or the reason (without the field prefix). */
    public record Parsed<T>(T value, String error) {
        static <T> Parsed<T> success(T value) {
            return new Parsed<>(value, null);
        }

        static <T> Parsed<T> failure(String error) {
            return new Parsed<>(null, error);
        }

        public boolean ok() {
            return error == null;
        }
    }

    /**
     * Parses {@code host:port}, {@code [ipv6]:port} or {@code hostname:port}, each optionally
     * followed by {@code /tcp} or {@code /udp} (TCP when absent).
     */
    public static Parsed<Endpoint> endpoint(String raw) {
        String q = quote(raw);
        if (raw.isEmpty()) {
            return Parsed.failure("empty endpoint (expected host:port)");
        }
        if (raw.length() > MAX_ENDPOINT_LENGTH) {
            return Parsed.failure("endpoint " + q + " is too long (" + raw.length() + " characters)");
        }
        String s = raw;
        Protocol protocol = Protocol.TCP;
        int slash = s.lastIndexOf('/');
        if (slash >= 0) {
            String proto = s.substring(slash + 1);
            if (proto.equals("tcp")) {
                protocol = Protocol.TCP;
            } else if (proto.equals("udp")) {
                protocol = Protocol.UDP;
            } else {
                return Parsed.failure("invalid protocol " + quote(proto) + " in " + q + " (expected tcp or udp)");
            }
            s = s.substring(0, slash);
        }
        String host;
        String port;
        boolean bracketed = s.startsWith("[");
        if (bracketed) {
            int close = s.indexOf(']');
            if (close < 0 || close + 1 >= s.length() || s.charAt(close + 1) != ':') {
                return Parsed.failure("invalid endpoint " + q + " (expected [ipv6]:port)");
            }
            host = s.substring(1, close);
            port = s.substring(close + 2);
        } else {
            int colon = s.lastIndexOf(':');
            if (colon < 0) {
                return Parsed.failure("invalid endpoint " + q + " (expected host:port)");
            }
            host = s.substring(0, colon);
            port = s.substring(colon + 1);
            if (host.indexOf(':') >= 0) {
                if (IpAddresses.parseIpv6(host) != null) {
                    return Parsed.failure("IPv6 endpoint " + q + " must be written as [address]:port, e.g. "
                            + quote("[" + host + "]:" + port));
                }
                if (IpAddresses.parseIpv6(s) != null) {
                    return Parsed.failure("IPv6 endpoint " + q + " must be written as [address]:port, e.g. "
                            + quote("[" + s + "]:443"));
                }
                return Parsed.failure("invalid endpoint " + q + " (expected host:port)");
            }
        }
        if (!DIGITS.matcher(port).matches() || Integer.parseInt(port) < 1 || Integer.parseInt(port) > 65535) {
            return Parsed.failure("invalid port " + quote(port) + " in " + q + " (expected 1-65535)");
        }
        int portNumber = Integer.parseInt(port);
        if (bracketed) {
            byte[] v6 = IpAddresses.parseIpv6(host);
            if (v6 == null) {
                return Parsed.failure("invalid IPv6 address " + quote(host) + " in " + q);
            }
            if (IpAddresses.isIpv4Mapped(v6)) {
                return Parsed.failure("IPv4-mapped address " + quote(host) + " in " + q + " (write the IPv4 address instead)");
            }
            return Parsed.success(new Endpoint(IpAddresses.format(v6), Family.IPV6, portNumber, protocol));
        }
        if (host.isEmpty()) {
            return Parsed.failure("missing host in " + q + " (expected host:port)");
        }
        if (looksNumeric(host)) {
            byte[] v4 = IpAddresses.parseIpv4(host);
            if (v4 == null) {
                return Parsed.failure("invalid IPv4 address " + quote(host) + " in " + q);
            }
            return Parsed.success(new Endpoint(IpAddresses.format(v4), Family.IPV4, portNumber, protocol));
        }
        String hostname = host.toLowerCase(Locale.ROOT);
        String why = hostnameProblem(hostname);
        if (why != null) {
            return Parsed.failure("invalid hostname " + quote(host) + " in " + q + " (" + why + ")");
        }
        return Parsed.success(new Endpoint(hostname, null, portNumber, protocol));
    }

    /** Parses {@code address/prefix} (IPv4 or IPv6); host bits must be zero. */
    public static Parsed<Cidr> cidr(String raw) {
        String q = quote(raw);
        if (raw.length() > 64) {
            return Parsed.failure("CIDR " + q + " is too long (" + raw.length() + " characters)");
        }
        int slash = raw.indexOf('/');
        if (slash < 0) {
            return Parsed.failure("invalid CIDR " + q + " (expected address/prefix, e.g. \"10.0.0.0/8\")");
        }
        String addr = raw.substring(0, slash);
        String prefixText = raw.substring(slash + 1);
        byte[] bytes = addr.indexOf(':') >= 0 ? IpAddresses.parseIpv6(addr) : IpAddresses.parseIpv4(addr);
        if (bytes == null) {
            return Parsed.failure("invalid address " + quote(addr) + " in " + q + " (expected an IPv4 or IPv6 network address)");
        }
        int max = bytes.length * 8;
        if (!prefixText.matches("0|[1-9][0-9]{0,2}") || Integer.parseInt(prefixText) > max) {
            return Parsed.failure("invalid prefix " + quote(prefixText) + " in " + q + " (expected 0-" + max + ")");
        }
        int prefix = Integer.parseInt(prefixText);
        byte[] network = mask(bytes, prefix);
        if (!java.util.Arrays.equals(network, bytes)) {
            String suggestion = IpAddresses.format(network) + "/" + prefix;
            return Parsed.failure("host bits set in " + q + " (did you mean \"" + suggestion + "\"?)");
        }
        return Parsed.success(new Cidr(IpAddresses.format(bytes), prefix, IpAddresses.familyOf(bytes)));
    }

    /**
     * Parses one trusted DNS resolver: a strict IPv4 or IPv6 literal (no brackets, no zone, no
     * hostname), not unspecified, not multicast, not IPv4-mapped. Never touches DNS.
     */
    public static Parsed<java.net.InetAddress> dnsServer(String raw) {
        String q = quote(raw);
        if (raw.length() > 45) {
            return Parsed.failure("address " + q + " is too long (" + raw.length() + " characters)");
        }
        byte[] bytes = raw.indexOf(':') >= 0 ? IpAddresses.parseIpv6(raw) : IpAddresses.parseIpv4(raw);
        if (bytes == null) {
            return Parsed.failure("invalid address " + q + " (expected an IPv4 or IPv6 address, e.g. \"10.88.0.1\")");
        }
        if (IpAddresses.isIpv4Mapped(bytes)) {
            return Parsed.failure("IPv4-mapped address " + q + " (write the IPv4 address instead)");
        }
        boolean unspecified = true;
        for (byte b : bytes) {
            unspecified &= b == 0;
        }
        if (unspecified) {
            return Parsed.failure("unspecified address " + q + " cannot be a resolver");
        }
        boolean multicast = bytes.length == 4 ? (bytes[0] & 0xf0) == 0xe0 : (bytes[0] & 0xff) == 0xff;
        if (multicast) {
            return Parsed.failure("multicast address " + q + " cannot be a resolver");
        }
        if (bytes.length == 4 && (bytes[0] & bytes[1] & bytes[2] & bytes[3]) == (byte) 0xff) {
            // its accepts, which come before the link-wide rejects, would open port 53 to every host on the link
            return Parsed.failure("broadcast address " + q + " cannot be a resolver");
        }
        try {
            return Parsed.success(java.net.InetAddress.getByAddress(bytes));
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException("4 or 16 bytes are always an address", e);
        }
    }

    /**
     * Parses a comma-separated list of trusted resolvers (the node's {@code --dns-servers}):
     * each as {@link #dnsServer(String)}, at most {@link NetworkPolicy#MAX_DNS_SERVERS},
     * duplicates kept once; an empty string is the empty list.
     */
    public static Parsed<java.util.List<java.net.InetAddress>> dnsServerList(String raw) {
        java.util.List<java.net.InetAddress> out = new java.util.ArrayList<>();
        if (raw.isBlank()) {
            return Parsed.success(java.util.List.of());
        }
        String[] items = raw.split(",", -1);
        if (items.length > NetworkPolicy.MAX_DNS_SERVERS) {
            return Parsed.failure("at most " + NetworkPolicy.MAX_DNS_SERVERS + " addresses, was: " + items.length);
        }
        for (String item : items) {
            Parsed<java.net.InetAddress> one = dnsServer(item.strip());
            if (!one.ok()) {
                return Parsed.failure(one.error());
            }
            if (!out.contains(one.value())) {
                out.add(one.value());
            }
        }
        return Parsed.success(java.util.List.copyOf(out));
    }

    /** {@code bytes} with every bit after the first {@code prefix} cleared. */
    static byte[] mask(byte[] bytes, int prefix) {
        byte[] out = bytes.clone();
        for (int i = 0; i < out.length; i++) {
            int keep = Math.max(0, Math.min(8, prefix - 8 * i));
            out[i] = (byte) (out[i] & (0xff00 >> keep));
        }
        return out;
    }

    /** Why a lower-case name is not an RFC 1123 hostname, or null when it is one. */
    static String hostnameProblem(String name) {
        if (name.length() > 253) {
            return "longer than 253 characters";
        }
        if (name.endsWith(".")) {
            return "trailing dot";
        }
        for (String label : name.split("\\.", -1)) {
            if (label.isEmpty()) {
                return "empty label";
            }
            if (label.length() > 63) {
                return "label longer than 63 characters";
            }
            if (!LABEL.matcher(label).matches()) {
                return "labels are letters, digits and inner hyphens";
            }
        }
        return null;
    }

    private static boolean looksNumeric(String host) {
        for (int i = 0; i < host.length(); i++) {
            char c = host.charAt(i);
            if ((c < '0' || c > '9') && c != '.') {
                return false;
            }
        }
        return true;
    }

    /**
     * {@code value} in double quotes, with quotes, backslashes and anything outside printable
     * ASCII escaped, cut to 80 characters so hostile input cannot flood or forge log lines.
     */
    public static String quote(String value) {
        StringBuilder sb = new StringBuilder("\"");
        int limit = Math.min(value.length(), 80);
        for (int i = 0; i < limit; i++) {
            char c = value.charAt(i);
            if (c == '"' || c == '\\') {
                sb.append('\\').append(c);
            } else if (c < 0x20 || c > 0x7e) {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        if (value.length() > limit) {
            sb.append("...");
        }
        return sb.append('"').toString();
    }
}
