package dev.netfence.nft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.ErrorCode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The nft apply's read-back and drift check where a census can be taken (in-process), against
 * scripted libnftables answers: the census counted first and taken again around other writers'
 * commits, netfence's table read as bytes and compared with the plan's table as learnt in a
 * fresh namespace, and the iptables backend's leftovers the census found removed; nothing in
 * the namespace is listed (no kernel needed; the kernel tests run the same steps for real).
 */
class NftReadBackTest extends NftApplyFixture {
    /** A resync's census (sets and rules counted). */
    private NftCensus.Counts census(long use, long sets, long rules, NftCensus.LeftoverTable... leftovers) {
        return new NftCensus.Counts(true, use, 0, sets, rules, 300 * rules, List.of(leftovers));
    }

    /** An apply's census (netfence's table just written, its sets and rules not counted). */
    private static NftCensus.Counts afterWrite(NftCensus.LeftoverTable... leftovers) {
        return new NftCensus.Counts(true, 3, 0, -1, -1, 0, List.of(leftovers));
    }

    private int planRules() {
        return new NftRenderer().expected(plan).size();
    }

    @Test
    void afterItsOwnWriteTheApplyReadsOnlyNetfencesTableWithoutCountingItsRules() {
        censuses.add(afterWrite());
        answers.add(ok(""));
        NftApply.Result r = steps().apply(commands, plan, planTable());
        assertThat(r.error()).isNull();
        assertThat(sent).as("netfence's table read as bytes, never listed")
                .containsExactly(new NftRenderer().render(plan), "read inet netfence");
        assertThat(censusAsked).as("sets and rules not counted").containsExactly(-1);
    }

    @Test
    void noReadBackHasLibnftablesListAnythingInTheNamespace() {
        NftRuleset.Leftover chain = new NftRuleset.Leftover("ip6", "filter", "NETFENCE-IN", -1);
        censuses.add(afterWrite(new NftCensus.LeftoverTable("ip6", 3, 100, List.of(chain))));
        censuses.add(afterWrite());
        answers.add(ok(""));
        answers.add(ok(""));
        assertThat(steps().apply(commands, plan, planTable()).error()).isNull();
        censuses.add(census(3, 0, planRules()));
        assertThat(steps().drift(commands, plan, planTable()).difference()).isEmpty();

        assertThat(sent).as("written, read as bytes, the leftover removed, read again; a drift check read")
                .containsExactly(new NftRenderer().render(plan), "read inet netfence",
                        "flush chain ip6 filter NETFENCE-IN\ndelete chain ip6 filter NETFENCE-IN\n", "read inet netfence",
                        "read inet netfence");
    }

    @ParameterizedTest(name = "use {0}, sets {1}, rules plan+{2}, flags {3}, bytes {4}")
    @CsvSource(delimiter = '|', value = {
        "4|0|0|0|0|netfence's table holds 4 chains, sets or objects where netfence writes 3 chains and no set",
        "3|1|0|0|0|netfence's table holds 3 chains, sets or objects and 1 sets where",
        "3|0|1|0|0|netfence's table holds more than the plan's",
        "3|0|0|1|0|netfence's table has flags 1 where netfence writes none (a dormant table's rules do not run)",
        "3|0|0|0|1000000|bytes, more than netfence's"})
    void aDriftCheckWhoseCensusShowsTheTableDifferentListsNothing(long use, long sets, long extraRules, long flags,
            long bytes, String message) {
        censuses.add(new NftCensus.Counts(true, use, flags, sets, planRules() + extraRules, bytes, List.of()));
        generations.add(7L);
        NftApply.Drift d = steps().drift(commands, plan, planTable());
        assertThat(d.difference()).hasValueSatisfying(m -> assertThat(m).contains(message).endsWith("(not listed)"));
        assertThat(d.generation()).isEqualTo(NftGeneration.UNKNOWN);
        assertThat(sent).isEmpty();
        assertThat(censusAsked).containsExactly(planRules());
    }

    @Test
    void aDriftCheckWhoseCensusShowsTheTableAsWrittenReadsItAloneAsBytes() {
        censuses.add(census(3, 0, planRules()));
        generations.addAll(List.of(9L, 9L, 9L, 9L)); // before, after the census, after the read, at the end
        assertThat(steps().drift(commands, plan, planTable()))
                .isEqualTo(new NftApply.Drift(java.util.Optional.empty(), 9));
        assertThat(sent).containsExactly("read inet netfence");
    }

    @Test
    void aCommitWhileTheTableIsReadTakesTheCensusAndTheReadAgain() {
        censuses.add(census(3, 0, planRules()));
        censuses.add(census(3, 0, planRules()));
        // before, after the first census, after its read (moved), after the pause, after the second
        // census, after its read, at the end
        generations.addAll(List.of(9L, 9L, 10L, 10L, 10L, 10L, 10L));
        assertThat(steps().drift(commands, plan, planTable()))
                .isEqualTo(new NftApply.Drift(java.util.Optional.empty(), 10));
        assertThat(censusAsked).hasSize(2);
        assertThat(sent).containsExactly("read inet netfence", "read inet netfence");
    }

    @Test
    void aNamespaceCommittedToEachTimeItWasCountedIsADifferenceWithoutAListing() {
        for (int i = 0; i < NftReadBack.QUIET_ATTEMPTS; i++) {
            censuses.add(census(3, 0, planRules()));
        }
        generations.addAll(List.of(9L, 10L, 10L, 11L, 11L, 12L, 12L, 13L)); // before, then each census: counted, next from
        NftApply.Drift d = steps().drift(commands, plan, planTable());
        assertThat(d.difference()).hasValueSatisfying(m -> assertThat(m)
                .contains("the namespace's ruleset changed each time netfence counted it (4 times, generation 9 -> 13"));
        assertThat(d.generation()).isEqualTo(NftGeneration.UNKNOWN);
        assertThat(sent).as("nothing listed").isEmpty();
        assertThat(censusAsked).hasSize(NftReadBack.QUIET_ATTEMPTS);
    }

    @Test
    void aCommitDuringOneCensusOnlyIsCountedAgainAndThenRead() {
        censuses.add(census(3, 0, planRules()));
        censuses.add(census(3, 0, planRules()));
        generations.addAll(List.of(9L, 10L, 10L, 10L, 10L)); // before, moved, after the pause, still, after the read
        assertThat(steps().drift(commands, plan, planTable()))
                .isEqualTo(new NftApply.Drift(java.util.Optional.empty(), NftGeneration.UNKNOWN));
        assertThat(sent).containsExactly("read inet netfence");
    }

    @Test
    void anApplyWhoseNamespaceIsCommittedToEachTimeItIsCountedIsVerifyFailedWithoutAListing() {
        for (int i = 0; i < NftReadBack.QUIET_ATTEMPTS; i++) {
            censuses.add(afterWrite());
        }
        answers.add(ok(""));
        generations.addAll(List.of(3L, 4L, 4L, 5L, 5L, 6L, 6L, 7L));
        NftApply.Result r = steps().apply(commands, plan, planTable());
        assertThat(r.error()).isNotNull().hasMessageContaining("changed each time netfence counted it");
        assertThat(r.error().code()).isEqualTo(dev.netfence.core.ErrorCode.VERIFY_FAILED);
        assertThat(sent).containsExactly(new NftRenderer().render(plan));
    }

    @Test
    void anApplysCensusShowingTheTableWithFewerChainsIsTakenAgainBeforeItCounts() {
        // another writer's transaction lowers the replaced table's use count before its commit
        censuses.add(new NftCensus.Counts(true, 0, 0, -1, -1, 0, List.of()));
        censuses.add(census(3, 0, planRules()));
        answers.add(ok(""));
        NftApply.Result r = steps().apply(commands, plan, planTable());
        assertThat(r.error()).isNull();
        assertThat(censusAsked).as("the retake counts the rules: the table is read after it").containsExactly(-1, planRules());
        assertThat(sent).containsExactly(new NftRenderer().render(plan), "read inet netfence");
    }

    @Test
    void aTableWithFewerChainsInEveryCensusIsADifferenceWithoutAListing() {
        for (int i = 0; i < NftReadBack.LOW_USE_ATTEMPTS; i++) {
            censuses.add(census(1, 0, planRules()));
        }
        assertThat(steps().drift(commands, plan, planTable()).difference()).hasValueSatisfying(d ->
                assertThat(d).contains("holds 1 chains, sets or objects").endsWith("(not listed)"));
        assertThat(censusAsked).hasSize(NftReadBack.LOW_USE_ATTEMPTS).containsOnly(planRules());
        assertThat(sent).isEmpty();
    }

    @ParameterizedTest(name = "size {0}, bytes {1}")
    @CsvSource({"10001, 0", "5, 3000000", "10001, 100"})
    void aLeftoverTableTooLargeIsADifferenceWithoutAListing(long size, long bytes) {
        censuses.add(afterWrite(new NftCensus.LeftoverTable("ip6", size, bytes)));
        answers.add(ok(""));
        NftApply.Result r = steps().apply(commands, plan, planTable());
        assertThat(r.error().code()).isEqualTo(ErrorCode.VERIFY_FAILED);
        assertThat(r.error().getMessage()).startsWith("nft read-back differs: table ip6 filter holds the iptables "
                + "backend's chains and more than 10000 rules").endsWith("(not listed)");
        assertThat(sent).hasSize(1);
        censuses.add(new NftCensus.Counts(true, 3, 0, 0, planRules(), 0,
                List.of(new NftCensus.LeftoverTable("ip6", size, bytes))));
        assertThat(steps().drift(commands, plan, planTable()).difference())
                .as("a resync repairs instead of failing").hasValueSatisfying(m -> assertThat(m).contains("table ip6 filter"));
    }

    @Test
    void theLeftoversTheCensusFoundAreRemovedJumpsFirstAndTheTableReadAgain() {
        List<NftRuleset.Leftover> found = List.of(new NftRuleset.Leftover("ip", "filter", "NETFENCE-OUT", -1),
                new NftRuleset.Leftover("ip", "filter", "OUTPUT", 9));
        censuses.add(afterWrite(new NftCensus.LeftoverTable("ip", 3, 100, found)));
        censuses.add(afterWrite());
        answers.add(ok(""));
        answers.add(ok(""));
        NftApply.Result r = steps().apply(commands, plan, planTable());
        assertThat(r.error()).isNull();
        assertThat(r.removedIptablesChains()).isTrue();
        assertThat(sent).containsExactly(new NftRenderer().render(plan), "read inet netfence",
                "delete rule ip filter OUTPUT handle 9\nflush chain ip filter NETFENCE-OUT\ndelete chain ip filter NETFENCE-OUT\n",
                "read inet netfence");
    }

    @Test
    void leftoversStillThereAfterTheirRemovalAreVerifyFailed() {
        List<NftRuleset.Leftover> found = List.of(new NftRuleset.Leftover("ip", "filter", "NETFENCE-OUT", -1));
        censuses.add(afterWrite(new NftCensus.LeftoverTable("ip", 3, 100, found)));
        censuses.add(afterWrite(new NftCensus.LeftoverTable("ip", 3, 100, found)));
        answers.add(ok(""));
        answers.add(ok(""));
        NftApply.Result r = steps().apply(commands, plan, planTable());
        assertThat(r.error().code()).isEqualTo(ErrorCode.VERIFY_FAILED);
        assertThat(r.error().getMessage()).startsWith("the iptables backend's chains are still there after removing them");
    }

    @Test
    void oneOfNetfencesChainsGoneSinceTheCensusIsAMismatchReadAsBytes() {
        censuses.add(afterWrite());
        answers.add(ok(""));
        List<String> inputRules = new NftRenderer().expected(plan).stream().filter(r -> r.chain().equals("input"))
                .map(r -> "input=" + r.text()).toList();
        tables.add(() -> TableBytes.ofText(List.of("input=input"), inputRules, false));
        NftApply.Result r = steps().apply(commands, plan, planTable());
        assertThat(r.error().code()).isEqualTo(ErrorCode.VERIFY_FAILED);
        assertThat(r.error().getMessage()).isEqualTo("nft read-back differs: chain output of table inet netfence is"
                + " missing (read as bytes, not listed)");
    }

    @Test
    void aTableReadRefusedByTheKernelFailsTheReadBackWithItsCode() {
        censuses.add(afterWrite());
        answers.add(ok(""));
        tables.add(() -> {
            throw new dev.netfence.core.EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE,
                    "counting the nftables ruleset (listing rules) failed: errno 1");
        });
        NftApply.Result r = steps().apply(commands, plan, planTable());
        assertThat(r.error().code()).isEqualTo(ErrorCode.FIREWALL_UNAVAILABLE);
        assertThat(r.changed()).isTrue();
    }

    @Test
    void aTableGoneBeforeItsReadIsAMismatchNotARefusal() {
        censuses.add(afterWrite());
        answers.add(ok(""));
        tables.add(() -> TableBytes.ofText(List.of(), List.of(), false));
        NftApply.Result r = steps().apply(commands, plan, planTable());
        assertThat(r.error().code()).isEqualTo(ErrorCode.VERIFY_FAILED);
        assertThat(r.error().getMessage()).contains("chain output of table inet netfence is missing");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "a rule changed|0|changed|chain output rule 1 is not the plan's ",
        "a rule added at the end|-1|added|chain forward has an unexpected rule past the plan's",
        "the last rule gone|-1|gone|chain forward lacks rule ",
        "a chain changed|0|chain|chain output is not the base chain netfence writes"})
    void aTableWhoseBytesDifferFromThePlansIsADifferenceWithNothingListed(String what, int at, String how,
            String message) {
        List<String> rules = new ArrayList<>(new NftRenderer().expected(plan).stream()
                .map(r -> r.chain() + "=" + r.text()).toList());
        List<String> chains = new ArrayList<>(List.of("output=output", "input=input", "forward=forward"));
        int index = at < 0 ? rules.size() - 1 : at;
        switch (how) {
            case "changed" -> rules.set(index, rules.get(index).replace("loopback", "ether") + " meta iif 1");
            case "added" -> rules.add("forward=forward accept");
            case "gone" -> rules.remove(index);
            default -> chains.set(0, "output=output hook input");
        }
        censuses.add(census(3, 0, planRules()));
        tables.add(() -> TableBytes.ofText(chains, rules, how.equals("added")));
        NftApply.Drift d = steps().drift(commands, plan, planTable());
        assertThat(d.difference()).hasValueSatisfying(m -> assertThat(m).contains(message).endsWith("(read as bytes, not listed)"));
        assertThat(sent).as("nothing listed").containsExactly("read inet netfence");
    }

    @Test
    void aReadBackBeforeThePlansTableIsLearntListsNothingAndIsRetryable() {
        censuses.add(census(3, 0, planRules()));
        generations.add(7L);
        NftApply.Drift d;
        try {
            d = new NftApply(new NftRenderer()).drift(commands, plan, null);
        } catch (dev.netfence.core.EnforcementException e) {
            assertThat(e.code()).isEqualTo(ErrorCode.VERIFY_FAILED);
            assertThat(e.getMessage()).contains("not learnt");
            assertThat(sent).isEmpty();
            return;
        }
        throw new AssertionError("read back without a learnt table: " + d);
    }

    @Test
    void learningAPlanWritesItListsItsThreeChainsVerifiesThemAndRemembersTheTablesBytes() {
        NftApply steps = new NftApply(new NftRenderer());
        answers.add(ok(""));
        answers.add(ok(listing()));
        TableBytes learnt = steps.learn(commands, plan);
        assertThat(steps.learnt(plan)).isSameAs(learnt);
        assertThat(sent).containsExactly(new NftRenderer().render(plan), "list chain inet netfence output",
                "list chain inet netfence input", "list chain inet netfence forward", "read inet netfence");
    }

    @Test
    void aPlanWhoseListingInTheFreshNamespaceDiffersIsNotLearnt() {
        NftApply steps = new NftApply(new NftRenderer());
        answers.add(ok(""));
        answers.add(ok(listing().replace("\"loopback\"", "\"ether\"")));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> steps.learn(commands, plan))
                .isInstanceOfSatisfying(dev.netfence.core.EnforcementException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.VERIFY_FAILED))
                .hasMessageContaining("in a fresh namespace");
        assertThat(steps.learnt(plan)).isNull();
    }

    @Test
    void aDriftCheckWhoseCensusFindsNoTableListsNothing() {
        censuses.add(new NftCensus.Counts(false, 0, 0, -1, -1, 0, List.of()));
        assertThat(steps().drift(commands, plan, planTable()).difference())
                .hasValue("table inet netfence is missing");
        assertThat(sent).isEmpty();
    }
}
