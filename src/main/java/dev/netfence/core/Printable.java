package dev.netfence.core;

/**
 * Text that a workload or a producer chose (a cgroup path, an interface name, an error message
 * quoting one), made safe for a log line or an operator's terminal: every character outside
 * printable ASCII, and the backslash, is written as {@code \xNN} (above 0xff, a backslash, u and four hex digits), so
 * an escape sequence or a line break in it can neither drive the terminal nor forge a line.
 */
public final class Printable {
    private Printable() {}

    /** {@code text} escaped as the class comment says; {@code "null"} for null. */
    public static String escape(String text) {
        if (text == null) {
            return "null";
        }
        StringBuilder out = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean plain = c >= 0x20 && c < 0x7f && c != '\\';
            if (!plain && out == null) {
                out = new StringBuilder(text.length() + 8).append(text, 0, i);
            }
            if (out != null) {
                if (plain) {
                    out.append(c);
                } else if (c <= 0xff) {
                    out.append(String.format("\\x%02x", (int) c));
                } else {
                    out.append(String.format("\\u%04x", (int) c));
                }
            }
        }
        return out == null ? text : out.toString();
    }
}
