package dev.netfence.nft;

import dev.netfence.rules.PlannedRules;
import dev.netfence.rules.RulePlanner;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * The scripted libnftables that {@link NftApplyTest} and {@link NftReadBackTest} run the nft
 * apply steps against: a quarantine plan, {@link NftApply.Commands} that record what is sent and
 * answer from queues (transactions and listings, censuses, generations, netfence's table as
 * bytes), and the listing nft gives for the plan's table.
 */
abstract class NftApplyFixture {
    final PlannedRules plan = new RulePlanner().quarantine();
    final List<String> sent = new ArrayList<>();
    final Deque<NftContext.Run> answers = new ArrayDeque<>();

    final NftApply.Commands commands = new NftApply.Commands() {
        @Override
        public NftContext.Run apply(String script) {
            listedTable = null;
            sent.add(script);
            return answers.removeFirst();
        }

        @Override
        public NftContext.Run listJson() {
            sent.add("list ruleset");
            return answers.removeFirst();
        }

        @Override
        public NftContext.Run listChain(String family, String table, String chain) {
            sent.add("list chain " + family + " " + table + " " + chain);
            NftContext.Run own = chainAnswers.remove(family + " " + table + " " + chain);
            if (own != null) {
                return own;
            }
            String key = family + " " + table;
            if (!key.equals(listedTable)) { // a table's chains are listed in a row: one queued answer for them all
                listedTable = key;
                tableAnswer = answers.removeFirst();
            }
            return onlyChain(tableAnswer, chain);
        }

        @Override
        public NftCensus.Counts census(int planRules) {
            listedTable = null;
            censusAsked.add(planRules);
            return censuses.isEmpty() ? null : censuses.removeFirst();
        }

        @Override
        public long generation() {
            return generations.isEmpty() ? NftGeneration.UNKNOWN : generations.removeFirst();
        }

        @Override
        public TableBytes table(int planRules) {
            sent.add("read inet netfence");
            return tables.isEmpty() ? planTable() : tables.removeFirst().get();
        }
    };
    /** What reading netfence's table as bytes gives, in order; none left: the plan's table. */
    final Deque<java.util.function.Supplier<TableBytes>> tables = new ArrayDeque<>();

    /** The steps; every apply and drift check of the tests passes {@link #planTable} as the learnt table. */
    NftApply steps() {
        return new NftApply(new NftRenderer());
    }

    /** The plan's table as bytes: each rule's bytes its text, each chain's its name. */
    TableBytes planTable() {
        return TableBytes.ofText(List.of("output=output", "input=input", "forward=forward"), new NftRenderer().expected(plan).stream()
                .map(r -> r.chain() + "=" + r.text()).toList(), false);
    }

    /** Answers for one chain ("family table chain"), taken before the queued table listings. */
    private final java.util.Map<String, NftContext.Run> chainAnswers = new java.util.HashMap<>();
    /** The table whose queued listing the chain listings in a row answer from, and that listing. */
    private String listedTable;
    private NftContext.Run tableAnswer;
    final Deque<Long> generations = new ArrayDeque<>();
    /** What the census answers, in order; none left means no census (the whole ruleset is listed). */
    final Deque<NftCensus.Counts> censuses = new ArrayDeque<>();
    final List<Integer> censusAsked = new ArrayList<>();

    /**
     * What {@code list chain} of {@code chain} shows of a queued table listing: its metainfo, that
     * chain and that chain's rules (no table object); a refusal as it is.
     */
    private static NftContext.Run onlyChain(NftContext.Run table, String chain) {
        if (!table.ok()) {
            return table;
        }
        try {
            var json = new com.fasterxml.jackson.databind.ObjectMapper();
            var items = json.readTree(table.output()).get("nftables");
            var kept = json.createArrayNode();
            for (var item : items) {
                if (item.has("metainfo") || (item.has("chain") && chain.equals(item.get("chain").path("name").asText()))
                        || (item.has("rule") && chain.equals(item.get("rule").path("chain").asText()))) {
                    kept.add(item);
                }
            }
            return new NftContext.Run(0, json.writeValueAsString(json.createObjectNode().set("nftables", kept)), "");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The JSON listing nft gives for {@code plan}'s table, plus {@code extra} items. */
    String listing(String... extra) {
        StringBuilder sb = new StringBuilder("{\"nftables\":[{\"metainfo\":{}},"
                + "{\"table\":{\"family\":\"inet\",\"name\":\"netfence\",\"handle\":1}},"
                + "{\"chain\":{\"family\":\"inet\",\"table\":\"netfence\",\"name\":\"output\",\"handle\":1,\"type\":\"filter\",\"hook\":\"output\",\"prio\":0,\"policy\":\"accept\"}},"
                + "{\"chain\":{\"family\":\"inet\",\"table\":\"netfence\",\"name\":\"input\",\"handle\":2,\"type\":\"filter\",\"hook\":\"input\",\"prio\":0,\"policy\":\"accept\"}},"
                + "{\"chain\":{\"family\":\"inet\",\"table\":\"netfence\",\"name\":\"forward\",\"handle\":3,\"type\":\"filter\",\"hook\":\"forward\",\"prio\":0,\"policy\":\"accept\"}}");
        long handle = 4;
        for (NftRenderer.ExpectedRule r : new NftRenderer().expected(plan)) {
            sb.append(",{\"rule\":{\"family\":\"inet\",\"table\":\"netfence\",\"chain\":\"").append(r.chain())
                    .append("\",\"handle\":").append(handle++).append(",\"comment\":\"").append(r.comment())
                    .append("\",\"expr\":").append(r.expr()).append("}}");
        }
        for (String e : extra) {
            sb.append(',').append(e);
        }
        return sb.append("]}").toString();
    }

    static NftContext.Run ok(String output) {
        return new NftContext.Run(0, output, "");
    }
}
