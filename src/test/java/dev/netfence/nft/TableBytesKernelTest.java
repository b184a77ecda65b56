package dev.netfence.nft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.Sh;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A workload holding CAP_NET_ADMIN changes netfence's own table in its namespace: rules added
 * past the plan's, one swapped for a rule with a set of 5,000 elements, one changed in place, one
 * matching on an interface index, one forged by a comment that prints as the next rule, the table
 * made dormant. Each is a difference, found by the census's counts or by the table's bytes rather
 * than by a listing of them, and the resync's apply replaces it; the read-back reads no more of
 * the table than the plan holds, and a rule deleted and added again as it was is still the plan.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class TableBytesKernelTest extends BoundedReadBackFixture {
    /**
     * Listing a rule that matches on an interface index makes libnftables look the namespace's
     * interfaces up, through a cache and a socket it shares across the process, and it ends the
     * process when that fails: a workload's such rule in netfence's chain is a difference found
     * by its bytes, libnftables lists nothing in the namespace, and the resync's apply replaces it.
     */
    @Test
    void aRuleOfTheWorkloadsThatMatchesOnAnInterfaceIndexIsADifferenceNotListed() throws Exception {
        apply();
        long listed = nft.listedChars();
        String handle = Sh.ok("ip", "netns", "exec", name, "nft", "-a", "list", "chain", "inet", "netfence", "output")
                .lines().filter(l -> l.contains("# handle ") && l.contains("comment")).findFirst().orElseThrow()
                .replaceAll(".*# handle ", "").strip();
        inside("delete rule inet netfence output handle " + handle + "\nadd rule inet netfence output meta oif 1 accept\n",
                "nft", "-f");

        assertThat(drift()).hasValueSatisfying(d -> assertThat(d)
                .contains("is not the plan's").endsWith("(read as bytes, not listed)"));
        apply();
        assertThat(drift()).isEmpty();
        assertThat(nft.listedChars()).as("libnftables listed nothing in the workload's namespace").isEqualTo(listed);
    }

    /**
     * nft prints a rule's comment as it is, quotes and newlines included: a workload holding
     * CAP_NET_ADMIN replaces one of netfence's rules by the same match with a comment that
     * prints as that rule and the next, and deletes the next. {@code nft list} without handles
     * reads exactly as before (checked), one rule fewer; netfence's listings carry each rule's
     * handle, and a rule made after netfence's own gets a handle none of them had, so the
     * read-back sees the difference and a resync repairs it.
     */
    @Test
    void aCommentThatPrintsAsTheNextRuleDoesNotHideThatRulesAbsence() throws Exception {
        apply();
        String before = Sh.ok("ip", "netns", "exec", name, "nft", "list", "chain", "inet", "netfence", "output");
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        List<com.fasterxml.jackson.databind.JsonNode> rules = new ArrayList<>();
        for (com.fasterxml.jackson.databind.JsonNode n : json.readTree(Sh.ok("ip", "netns", "exec", name, "nft", "-j",
                "list", "chain", "inet", "netfence", "output")).path("nftables")) {
            if (n.has("rule")) {
                rules.add(n.path("rule"));
            }
        }
        List<String> lines = before.lines().filter(l -> l.startsWith("\t\t") && l.contains(" comment \""))
                .map(l -> l.substring(2)).toList();
        assertThat(lines).hasSameSizeAs(rules);
        int at = -1;
        String comment = null;
        for (int i = 0; i + 1 < rules.size() && at < 0; i++) {
            String next = lines.get(i + 1);
            String folded = rules.get(i).path("comment").asText() + "\"\n\t\t" + next.substring(0, next.length() - 1);
            if (folded.getBytes(StandardCharsets.UTF_8).length <= 127) {
                at = i;
                comment = folded;
            }
        }
        assertThat(at).as("two neighbouring rules whose lines fit one comment").isNotNegative();
        com.fasterxml.jackson.databind.node.ObjectNode replaced = rules.get(at).deepCopy();
        replaced.put("comment", comment);
        replaced.remove("family");
        replaced.put("family", "inet");
        com.fasterxml.jackson.databind.node.ObjectNode deleted = json.createObjectNode().put("family", "inet")
                .put("table", "netfence").put("chain", "output").put("handle", rules.get(at + 1).path("handle").asLong());
        com.fasterxml.jackson.databind.node.ArrayNode commands = json.createArrayNode();
        commands.addObject().putObject("replace").set("rule", replaced);
        commands.addObject().putObject("delete").set("rule", deleted);
        inside(json.createObjectNode().set("nftables", commands).toString(), "nft", "-j", "-f");
        assertThat(Sh.ok("ip", "netns", "exec", name, "nft", "list", "chain", "inet", "netfence", "output"))
                .as("the forged listing reads as before").isEqualTo(before);

        String forgedRule = "chain output rule " + (at + 1) + " is not the plan's";
        assertThat(drift()).hasValueSatisfying(d -> assertThat(d).contains(forgedRule));
        apply();
        assertThat(drift()).isEmpty();
    }

    @Test
    void rulesAddedToNetfencesTableAreFoundWithoutListingThemAndTheApplyReplacesThem() throws Exception {
        apply();
        inside(rules(20_000, "inet netfence output"), "nft", "-f");
        long before = nft.readBackSize();
        assertThat(drift()).hasValueSatisfying(d -> assertThat(d).contains("holds more than the plan's"));
        assertThat(nft.readBackSize()).as("nothing listed").isEqualTo(before);
        apply();
        assertThat(nft.readBackSize() - before).isBetween(1L, ONE_TABLE);
        assertThat(ruleset()).doesNotContain("10.0.0.1");
        assertThat(drift()).isEmpty();
    }

    @Test
    void aSetInNetfencesTableIsFoundWithoutListingItsElements() throws Exception {
        apply();
        // one of netfence's rules swapped for one with an anonymous set of 5,000 elements: the same number of rules
        String handle = Sh.ok("ip", "netns", "exec", name, "nft", "-a", "list", "chain", "inet", "netfence", "input")
                .lines().filter(l -> l.contains("comment \"netfence:")).reduce((a, b) -> b).orElseThrow()
                .replaceAll(".*# handle (\\d+).*", "$1").strip();
        StringBuilder set = new StringBuilder("delete rule inet netfence input handle " + handle
                + "\nadd rule inet netfence input ip saddr { ");
        for (int i = 0; i < 5_000; i++) {
            set.append(i == 0 ? "" : ", ").append("10.").append(i / 250).append('.').append(i % 250).append(".1");
        }
        inside(set.append(" } accept\n").toString(), "nft", "-f");
        long before = nft.readBackSize();
        assertThat(drift()).hasValueSatisfying(d -> assertThat(d).contains("1 sets"));
        assertThat(nft.readBackSize()).as("nothing listed").isEqualTo(before);
        apply();
        assertThat(drift()).isEmpty();
    }

    @Test
    void aRuleDeletedAndAddedAgainUnderANewHandleIsStillThePlan() throws Exception {
        apply();
        String last = Sh.ok("ip", "netns", "exec", name, "nft", "-a", "list", "chain", "inet", "netfence", "input")
                .lines().filter(l -> l.contains("# handle ") && l.contains("comment")).reduce((a, b) -> b).orElseThrow();
        String handle = last.replaceAll(".*# handle (\\d+).*", "$1").strip();
        String rule = last.replaceAll("\\s*# handle \\d+\\s*$", "").strip();
        inside("delete rule inet netfence input handle " + handle + "\nadd rule inet netfence input " + rule + "\n",
                "nft", "-f");
        assertThat(Sh.ok("ip", "netns", "exec", name, "nft", "-a", "list", "chain", "inet", "netfence", "input"))
                .as("the same rule under another handle").doesNotContain("# handle " + handle + "\n").contains(rule);

        assertThat(drift()).isEmpty();
    }

    @Test
    void aRuleChangedInPlaceIsFoundByItsBytesWithoutListingIt() throws Exception {
        apply();
        long known = nft.knownReadBacks();
        apply();
        assertThat(nft.knownReadBacks() - known).as("the second apply's table is the plan's, byte for byte").isEqualTo(1);
        // the workload swaps one rule's port: as many rules as the plan, of about the same size
        String line = Sh.ok("ip", "netns", "exec", name, "nft", "-a", "list", "chain", "inet", "netfence", "output")
                .lines().filter(l -> l.contains("dport 443")).findFirst().orElseThrow();
        String handle = line.replaceAll(".*# handle (\\d+).*", "$1").strip();
        String rule = line.replaceAll("\\s*# handle \\d+\\s*$", "").strip().replace("dport 443", "dport 444");
        inside("replace rule inet netfence output handle " + handle + " " + rule + "\n", "nft", "-f");
        known = nft.knownReadBacks();
        assertThat(drift()).hasValueSatisfying(d -> assertThat(d).contains("rule 5 is not the plan's").contains("dport 443")
                .endsWith("(read as bytes, not listed)"));
        assertThat(nft.knownReadBacks()).as("a difference, not taken for the plan").isEqualTo(known);
        apply();
        assertThat(nft.knownReadBacks() - known).as("the repair reads back the plan's bytes again").isEqualTo(1);
        assertThat(ruleset()).doesNotContain("dport 444");
    }

    @Test
    void aDormantTableIsFoundAndTheApplyWakesIt() throws Exception {
        apply();
        Sh.ok("ip", "netns", "exec", name, "nft", "add", "table", "inet", "netfence", "{", "flags", "dormant", ";", "}");
        long known = nft.knownReadBacks();
        assertThat(drift()).as("its chains list as the remembered pair, the census finds the flag")
                .hasValueSatisfying(d -> assertThat(d).contains("has flags 1"));
        assertThat(nft.knownReadBacks()).isEqualTo(known);
        apply();
        assertThat(ruleset()).doesNotContain("dormant");
        assertThat(drift()).isEmpty();
    }
}
