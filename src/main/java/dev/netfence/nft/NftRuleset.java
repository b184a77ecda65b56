package dev.netfence.nft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What {@code nft -j list ruleset} (or the {@code list chain} listings {@link NftApply} makes
 * after its census, joined with {@link #plus}) showed in a namespace, reduced to what netfence checks: the
 * chains and rules of its own table {@code inet netfence}, and the iptables backend's netfence
 * leftovers that nftables can see (chains {@code NETFENCE-OUT}, {@code -IN}, {@code -FWD} of the
 * {@code ip} / {@code ip6 filter} tables that iptables-nft wrote, and the rules that jump or go
 * to them). Plain data; {@link #parse} throws {@link IllegalArgumentException} for text that is not
 * nft's JSON.
 */
public record NftRuleset(boolean tablePresent, boolean tableFlagged, List<Chain> chains, List<RuleEntry> rules,
        List<Leftover> leftovers) {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** The iptables backend's owned chains, as iptables-nft names them. */
    public static final List<String> IPTABLES_CHAINS = List.of("NETFENCE-OUT", "NETFENCE-IN", "NETFENCE-FWD");

    /** A chain of netfence's table as listed. */
    public record Chain(String name, String type, String hook, int prio, String policy) {}

    /** A rule of netfence's table as listed. */
    public record RuleEntry(String chain, long handle, String comment, List<JsonNode> expr) {}

    /**
     * Something of the iptables backend in an {@code ip}/{@code ip6} table: a netfence chain
     * ({@code handle} is -1) or a rule in {@code chain} that jumps to one (with its handle).
     */
    public record Leftover(String family, String table, String chain, long handle) {
        public boolean isChain() {
            return handle < 0;
        }
    }

    /** Nothing listed: no table, no chain, no rule, no leftover. */
    public static final NftRuleset EMPTY = new NftRuleset(false, List.of(), List.of(), List.of());

    public NftRuleset {
        chains = List.copyOf(chains);
        rules = List.copyOf(rules);
        leftovers = List.copyOf(leftovers);
    }

    /** A listing whose table (if any) has no flags. */
    public NftRuleset(boolean tablePresent, List<Chain> chains, List<RuleEntry> rules, List<Leftover> leftovers) {
        this(tablePresent, false, chains, rules, leftovers);
    }

    /** This listing and {@code other} together (two tables listed one after the other). */
    public NftRuleset plus(NftRuleset other) {
        List<Chain> c = new ArrayList<>(chains);
        c.addAll(other.chains);
        List<RuleEntry> r = new ArrayList<>(rules);
        r.addAll(other.rules);
        List<Leftover> l = new ArrayList<>(leftovers);
        l.addAll(other.leftovers);
        return new NftRuleset(tablePresent || other.tablePresent, tableFlagged || other.tableFlagged, c, r, l);
    }

    /** This listing with netfence's table marked present (or not): a chain listing shows no table object. */
    public NftRuleset withTable(boolean present) {
        return new NftRuleset(present, tableFlagged, chains, rules, leftovers);
    }

    /** Parses the output of {@code nft -j list ruleset} (or of {@code list chain}: the same form). */
    public static NftRuleset parse(String json) {
        Objects.requireNonNull(json, "json");
        JsonNode root;
        try {
            root = MAPPER.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException("not JSON: " + e.getMessage(), e);
        }
        JsonNode items = root == null ? null : root.get("nftables");
        if (items == null || !items.isArray()) {
            throw new IllegalArgumentException("no \"nftables\" array in the listing");
        }
        boolean table = false;
        boolean flagged = false;
        List<Chain> chains = new ArrayList<>();
        List<RuleEntry> rules = new ArrayList<>();
        List<Leftover> leftovers = new ArrayList<>();
        for (JsonNode item : items) {
            if (item.has("table")) {
                boolean mine = ours(item.get("table"), "name");
                table |= mine;
                flagged |= mine && item.get("table").has("flags"); // (nft 1.0.6 prints a dormant table's flags wrongly, but prints them)
            } else if (item.has("chain")) {
                JsonNode c = item.get("chain");
                if (ours(c, "table")) {
                    chains.add(new Chain(c.path("name").asText(), c.path("type").asText(null),
                            c.path("hook").asText(null), c.path("prio").asInt(), c.path("policy").asText(null)));
                } else if (iptablesFilter(c) && IPTABLES_CHAINS.contains(c.path("name").asText())) {
                    leftovers.add(new Leftover(c.path("family").asText(), "filter", c.path("name").asText(), -1));
                }
            } else if (item.has("rule")) {
                JsonNode r = item.get("rule");
                List<JsonNode> expr = new ArrayList<>();
                r.path("expr").forEach(expr::add);
                if (ours(r, "table")) {
                    rules.add(new RuleEntry(r.path("chain").asText(), r.path("handle").asLong(),
                            r.path("comment").asText(null), expr));
                } else if (iptablesFilter(r) && jumpsToNetfence(expr)) {
                    leftovers.add(new Leftover(r.path("family").asText(), "filter", r.path("chain").asText(),
                            r.path("handle").asLong()));
                }
            }
        }
        return new NftRuleset(table, flagged, chains, rules, leftovers);
    }

    private static boolean ours(JsonNode node, String tableField) {
        return NftRenderer.FAMILY.equals(node.path("family").asText())
                && NftRenderer.TABLE.equals(node.path(tableField).asText());
    }

    private static boolean iptablesFilter(JsonNode node) {
        String family = node.path("family").asText();
        return ("ip".equals(family) || "ip6".equals(family)) && "filter".equals(node.path("table").asText());
    }

    /** Whether a rule's statements jump or go to one of {@link #IPTABLES_CHAINS} ({@code -j} or {@code -g}). */
    private static boolean jumpsToNetfence(List<JsonNode> expr) {
        for (JsonNode e : expr) {
            for (String verdict : List.of("jump", "goto")) {
                JsonNode target = e.path(verdict).path("target");
                if (target.isTextual() && IPTABLES_CHAINS.contains(target.asText())) {
                    return true;
                }
            }
        }
        return false;
    }
}
