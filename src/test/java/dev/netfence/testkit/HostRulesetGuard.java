package dev.netfence.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.netns.CommandResult;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Asserts that a test class leaves the host's own firewall alone: snapshots {@code iptables-save}
 * and {@code ip6tables-save} of both backends (nft and legacy, all tables) and {@code nft list
 * ruleset} before the class and compares them, normalized, after it. Register after
 * {@link KernelTests}.
 *
 * <p>Exactly two owners' rules are left out of the comparison, because they change the host's
 * ruleset legitimately while tests run: podman's netavark (it adds and removes its chains as
 * containers start and stop, also other test runs' containers) and netfence's own host table
 * (issue 14). Concretely, and nothing else: in the save texts, the declarations of chains whose
 * name starts with {@code NETAVARK}, the rules appended to them and the rules that jump or go to
 * them, and then a table that held such lines and is left with nothing but built-in chains with
 * policy ACCEPT and no rule (the table netavark created; it filters nothing); in the nft listing,
 * the tables {@code netdev netfence} and {@code inet netavark} (an {@code inet netfence} table in the
 * host namespace is container rules written to the wrong namespace: it is compared). The nft
 * listing also leaves out the tables iptables-nft manages ({@code ip}/{@code ip6} {@code filter},
 * {@code nat}, {@code mangle}, {@code raw}, {@code security}): they are not excluded but compared
 * through the iptables-nft save texts above, in the syntax the netavark exclusion reads.
 */
public final class HostRulesetGuard implements BeforeAllCallback, AfterAllCallback {
    private static final List<String> SAVES =
            List.of("iptables-nft-save", "ip6tables-nft-save", "iptables-legacy-save", "ip6tables-legacy-save");
    private static final String NFT_LIST = "nft list ruleset";
    private static final Set<String> EXCLUDED_NFT_TABLES =
            Set.of("netdev netfence", "inet netavark");
    private static final Set<String> XTABLES_FAMILIES = Set.of("ip", "ip6");
    private static final Set<String> XTABLES_TABLES = Set.of("filter", "nat", "mangle", "raw", "security");
    private static final Pattern NETAVARK_LINE =
            Pattern.compile("^(:NETAVARK\\S* |-A NETAVARK\\S* |-[AI] \\S+ .*-[jg] NETAVARK\\S*( |$))");
    private static final Pattern BUILTIN_ACCEPT = Pattern.compile("^:[A-Z]+ ACCEPT \\[0:0\\]$");
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(HostRulesetGuard.class);

    /** The host's rulesets now, by command, in the form that is compared. */
    public static Map<String, String> snapshot() {
        Map<String, String> out = new LinkedHashMap<>();
        for (String save : SAVES) {
            CommandResult r = Sh.run(save);
            out.put(save, "exit " + r.exitCode() + "\n" + comparableSave(r.stdout()));
        }
        out.put(NFT_LIST, nftListing());
        return out;
    }

    private static String nftListing() {
        try {
            CommandResult r = Sh.run("nft", "list", "ruleset");
            return "exit " + r.exitCode() + "\n" + comparableNft(r.stdout());
        } catch (IllegalStateException notInstalled) {
            return "nft not runnable: " + notInstalled.getMessage();
        }
    }

    /** An iptables-save text as compared: normalized ({@link Rulesets}), netavark's lines and empty netavark tables out. */
    static String comparableSave(String saveText) {
        List<String> out = new ArrayList<>();
        List<String> table = null;
        boolean netavarkInTable = false;
        for (String line : Rulesets.normalize(saveText).split("\n")) {
            if (line.startsWith("*")) {
                table = new ArrayList<>();
                netavarkInTable = false;
            }
            if (NETAVARK_LINE.matcher(line).find()) {
                netavarkInTable = true;
                continue;
            }
            if (table == null) {
                out.add(line);
                continue;
            }
            table.add(line);
            if (line.equals("COMMIT")) {
                if (!(netavarkInTable && onlyEmptyBuiltins(table))) {
                    out.addAll(table);
                }
                table = null;
            }
        }
        if (table != null) {
            out.addAll(table);
        }
        return String.join("\n", out);
    }

    private static boolean onlyEmptyBuiltins(List<String> table) {
        for (String line : table.subList(1, table.size() - 1)) {
            if (!BUILTIN_ACCEPT.matcher(line).matches()) {
                return false;
            }
        }
        return true;
    }

    /** An {@code nft list ruleset} text as compared: counters zeroed, the tables named in the class comment out. */
    static String comparableNft(String listing) {
        List<String> out = new ArrayList<>();
        boolean skipping = false;
        for (String line : listing.split("\n")) {
            if (line.startsWith("table ")) {
                String[] words = line.split(" ");
                String key = words.length >= 3 ? words[1] + " " + words[2] : line;
                skipping = EXCLUDED_NFT_TABLES.contains(key)
                        || (words.length >= 3 && XTABLES_FAMILIES.contains(words[1]) && XTABLES_TABLES.contains(words[2]));
            }
            if (!skipping) {
                out.add(Rulesets.zeroNftCounters(line));
            }
            if (line.equals("}")) {
                skipping = false;
            }
        }
        return String.join("\n", out);
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        context.getStore(NS).put("before", snapshot());
    }

    @Override
    @SuppressWarnings("unchecked")
    public void afterAll(ExtensionContext context) {
        Map<String, String> before = (Map<String, String>) context.getStore(NS).get("before");
        if (before != null) {
            assertThat(snapshot()).as("host rulesets after the tests").isEqualTo(before);
        }
    }
}
