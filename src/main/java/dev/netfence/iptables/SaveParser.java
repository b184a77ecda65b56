package dev.netfence.iptables;

import dev.netfence.rules.Direction;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Reads the filter table out of {@code iptables-save} / {@code ip6tables-save} output (nft or
 * legacy; comment and warning lines ignored) into a {@link FilterState}: the owned chains'
 * declarations and rule lines, and the OUTPUT / INPUT / FORWARD rule lines that hold the hooks. Lines are
 * kept verbatim (trailing whitespace trimmed) so the verifier can compare them exactly. Output
 * without a filter table yields {@link FilterState#empty()}.
 *
 * <p>The text is checked against the grammar {@code iptables-save} prints, every table of it,
 * because the workload writes part of it: a chain name is printed raw, and one holding line
 * breaks (nft allows 256 bytes of anything; a workload with CAP_NET_ADMIN makes it) prints lines
 * of its choosing, such as a hook it deleted. Each table is printed at most once as
 * {@code *name}, its chain declarations {@code :chain policy [n:m]}, its rules {@code -A chain ...}
 * of declared chains, then {@code COMMIT}; comments and blank lines only between tables. A name's
 * first fragment is printed as a declaration and its last one gets a declaration's
 * {@code " policy [n:m]"} appended, so a name that forges a rule line breaks that grammar (a
 * declaration after a rule, a rule ending like a declaration, a comment or a {@code COMMIT}
 * orphaned inside or outside a table). Such text yields a state marked
 * {@link FilterState#malformed()}, which the verifier reports first: never trusted, never in
 * force. Also refused: a control character anywhere (a carriage return would hide a fragment's
 * tail), and a rule whose double quotes do not pair up (iptables-save quotes a comment and escapes
 * the quotes inside, but prints a line break in it raw), and a rule with a match or target whose
 * strings iptables-save prints unquoted and raw ({@link #rawStringExtension}: an {@code xt_recent}
 * list name, an ipset name...), which would print well-formed lines of the workload's choosing.
 * These checks catch the forms they name, not every forgery: the text cannot be trusted against a
 * workload holding CAP_NET_ADMIN (README). Pure and thread-safe.
 */
public final class SaveParser {
    private static final Pattern DECLARATION = Pattern.compile(":\\S+ \\S+ \\[\\d+:\\d+\\]");
    private static final Pattern DECLARATION_TAIL = Pattern.compile(".* \\S+ \\[\\d+:\\d+\\]");
    private static final Set<String> OWNED = Arrays.stream(Direction.values()).map(RestoreRenderer::chain)
            .collect(Collectors.toUnmodifiableSet());
    private static final Set<String> BUILTINS = Arrays.stream(Direction.values()).map(RestoreRenderer::builtin)
            .collect(Collectors.toUnmodifiableSet());

    public FilterState parse(String iptablesSaveOutput) {
        Objects.requireNonNull(iptablesSaveOutput, "iptablesSaveOutput");
        String table = null;
        boolean inFilter = false;
        boolean rulesBegun = false;
        Set<String> owned = new HashSet<>();
        Set<String> tables = new HashSet<>();
        Set<String> declared = new HashSet<>();
        String malformed = null;
        Map<String, List<String>> rules = new HashMap<>();
        String[] lines = iptablesSaveOutput.split("\n", -1);
        for (int n = 0; n < lines.length && malformed == null; n++) {
            String line = trimEnd(lines[n]);
            String why = controlCharacter(line) ? "a control character" : null;
            if (why != null) {
                // a carriage return or the like, which no rule text has, hides a fragment's tail from the checks below
            } else if (table == null) {
                if (line.startsWith("*")) {
                    table = line.substring(1);
                    why = tables.add(table) ? null : "table " + table + " printed twice";
                    inFilter = table.equals("filter");
                    rulesBegun = false;
                    declared.clear();
                } else if (!line.isEmpty() && !line.startsWith("#")) {
                    why = "outside a table";
                }
            } else if (line.equals("COMMIT")) {
                table = null;
                inFilter = false;
            } else if (line.startsWith(":")) {
                if (rulesBegun || !DECLARATION.matcher(line).matches()) {
                    why = rulesBegun ? "a chain declared after a rule" : "not a chain declaration";
                } else {
                    String chain = line.substring(1).split(" ", 2)[0];
                    declared.add(chain);
                    if (inFilter && OWNED.contains(chain)) {
                        owned.add(chain);
                    }
                }
            } else if (line.startsWith("-A ")) {
                rulesBegun = true;
                String chain = line.substring(3).split(" ", 2)[0];
                if (!declared.contains(chain)) {
                    why = "a rule of an undeclared chain";
                } else if (DECLARATION_TAIL.matcher(line).matches()) {
                    why = "a rule ending like a chain declaration";
                } else if (!quotesBalanced(line)) {
                    why = "a quoted string cut by a line break";
                } else if (rawStringExtension(line) != null) {
                    why = "a match or target whose strings iptables-save prints unquoted, " + rawStringExtension(line);
                } else if (inFilter && (OWNED.contains(chain) || BUILTINS.contains(chain))) {
                    rules.computeIfAbsent(chain, c -> new ArrayList<>()).add(line);
                }
            } else {
                why = "inside table " + table;
            }
            if (why != null) {
                malformed = "line " + (n + 1) + " (" + why + "): " + abbreviate(line);
            }
        }
        if (malformed == null && table != null) {
            malformed = "table " + table + " has no COMMIT";
        }
        return new FilterState(owned, rules, malformed);
    }

    /**
     * Trailing spaces and a carriage return ending the line; not {@link String#strip}, which would take
     * any whitespace, and a carriage return inside a line (before a fragment's tail) is a finding.
     */
    private static String trimEnd(String line) {
        int end = line.length();
        if (end > 0 && line.charAt(end - 1) == '\r') {
            end--;
        }
        while (end > 0 && line.charAt(end - 1) == ' ') {
            end--;
        }
        return line.substring(0, end);
    }

    private static boolean controlCharacter(String line) {
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c < 0x20 || c == 0x7f || c == 0x85 || c == 0x2028 || c == 0x2029) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether the line's double quotes not escaped by a backslash pair up: iptables-save quotes a
     * comment (and other strings) and escapes the quotes and backslashes inside, but prints a line
     * break inside raw, so a string cut by one leaves an odd count on each side of the break.
     */
    private static boolean quotesBalanced(String line) {
        boolean open = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == '\\') {
                i++;
            } else if (c == '"') {
                open = !open;
            }
        }
        return !open;
    }

    /**
     * The {@code -m name} or {@code -j name} of {@code line} (outside quotes) whose option strings
     * iptables-save prints unquoted and raw, long enough to hold a line of netfence's (an
     * {@code xt_recent} list name of 200 bytes, a hashlimit name of 255, an ipset name of 31, a
     * cgroup path, a pinned BPF path, an osf genre or nfacct name of 32, an IDLETIMER label of 28, an
     * LED trigger id of 27), or null. Checked on the iptables 1.8.9 extensions' save formats. Not
     * enough by itself: a shorter raw string (an interface name) still prints a hook line, the rule's
     * own {@code -j} completing it, and iptables-nft-save leaves some native expressions out (README).
     */
    private static String rawStringExtension(String line) {
        StringBuilder unquoted = new StringBuilder(line.length());
        boolean open = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == '\\') {
                i++;
                unquoted.append(' ');
            } else if (c == '"') {
                open = !open;
                unquoted.append(' ');
            } else {
                unquoted.append(open ? ' ' : c);
            }
        }
        String[] tokens = unquoted.toString().split(" +");
        for (int i = 0; i + 1 < tokens.length; i++) {
            if ((tokens[i].equals("-m") || tokens[i].equals("-j")) && RAW_STRINGS.contains(tokens[i + 1])) {
                return tokens[i] + " " + tokens[i + 1];
            }
        }
        return null;
    }

    private static final Set<String> RAW_STRINGS = Set.of("recent", "hashlimit", "set", "SET", "cgroup", "bpf", "osf",
            "nfacct", "IDLETIMER", "LED");

    private static String abbreviate(String line) {
        return line.length() <= 120 ? line : line.substring(0, 120) + "...";
    }
}
