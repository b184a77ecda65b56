package dev.netfence.nft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.ErrorCode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The nft apply steps where no census can be taken (the {@code nft} program's backend), against
 * scripted libnftables answers: what is sent, in which order, the whole ruleset listed back and
 * verified, the iptables backend's chains removed, how each refusal is sorted into an outcome,
 * and the generation a verified read-back carries (no kernel needed; the kernel tests run the
 * same steps for real).
 */
class NftApplyTest extends NftApplyFixture {
    @Test
    void aTableThatReadsBackAsPlannedIsAppliedWithOneTransactionAndOneListing() {
        answers.add(ok(""));
        answers.add(ok(listing()));
        NftApply.Result r = steps().apply(commands, plan, planTable());
        assertThat(r.error()).isNull();
        assertThat(r.changed()).isTrue();
        assertThat(sent).containsExactly(new NftRenderer().render(plan), "list ruleset");
    }

    @Test
    void theIptablesBackendsChainsAreRemovedByHandleAndTheTableReadAgain() {
        String chain = "{\"chain\":{\"family\":\"ip\",\"table\":\"filter\",\"name\":\"NETFENCE-OUT\",\"handle\":4}}";
        String jump = "{\"rule\":{\"family\":\"ip\",\"table\":\"filter\",\"chain\":\"OUTPUT\",\"handle\":9,"
                + "\"expr\":[{\"jump\":{\"target\":\"NETFENCE-OUT\"}}]}}";
        answers.add(ok(""));
        answers.add(ok(listing(chain, jump)));
        answers.add(ok(""));
        answers.add(ok(listing()));
        NftApply.Result r = steps().apply(commands, plan, planTable());
        assertThat(r.error()).isNull();
        assertThat(r.removedIptablesChains()).isTrue();
        assertThat(sent.get(2)).isEqualTo(
                "delete rule ip filter OUTPUT handle 9\nflush chain ip filter NETFENCE-OUT\ndelete chain ip filter NETFENCE-OUT\n");
        assertThat(sent).hasSize(4);
    }

    @Test
    void aRemovalRefusedBecauseAnotherWriterRemovedTheChainsFirstStillApplies() {
        String chain = "{\"chain\":{\"family\":\"ip\",\"table\":\"filter\",\"name\":\"NETFENCE-OUT\",\"handle\":4}}";
        answers.add(ok(""));
        answers.add(ok(listing(chain)));
        answers.add(new NftContext.Run(1, "", "Error: Could not process rule: No such file or directory\n"));
        answers.add(ok(listing()));
        NftApply.Result r = steps().apply(commands, plan, planTable());
        assertThat(r.error()).isNull();
        assertThat(r.removedIptablesChains()).isFalse();
    }

    @Test
    void aGotoToTheIptablesChainsIsRemovedLikeAJump() {
        String chain = "{\"chain\":{\"family\":\"ip\",\"table\":\"filter\",\"name\":\"NETFENCE-OUT\",\"handle\":4}}";
        String jump = "{\"rule\":{\"family\":\"ip\",\"table\":\"filter\",\"chain\":\"OUTPUT\",\"handle\":9,"
                + "\"expr\":[{\"goto\":{\"target\":\"NETFENCE-OUT\"}}]}}";
        answers.add(ok(""));
        answers.add(ok(listing(chain, jump)));
        answers.add(ok(""));
        answers.add(ok(listing()));
        NftApply.Result r = steps().apply(commands, plan, planTable());
        assertThat(r.error()).isNull();
        assertThat(sent.get(2)).startsWith("delete rule ip filter OUTPUT handle 9\n");
    }

    @Test
    void aRemovalRefusedBecauseSomethingUnlistedStillRefersToTheChainsIsPermanentAndSaysWhy() {
        NftApply.Result r = removalRefused("Error: Could not process rule: Device or resource busy\n", JUMP);
        assertThat(r.changed()).isTrue();
        assertThat(r.error().code()).isEqualTo(ErrorCode.RULES_REJECTED);
        assertThat(r.error().getMessage()).isEqualTo("nftables refused removing the iptables backend's chains"
                + " NETFENCE-OUT, NETFENCE-IN and NETFENCE-FWD: something netfence does not list still refers to them (a jump or goto"
                + " from a chain of the ip/ip6 filter table other than OUTPUT, INPUT and FORWARD, or a verdict map); netfence's"
                + " table was written, the old chains stay beside it; remove that reference, or the chains:"
                + " Error: Could not process rule: Device or resource busy");
    }

    @Test
    void aRemovalRefusedWhileAnotherProcessAddedAJumpStaysRetryable() {
        String added = JUMP.replace("\"handle\":9", "\"handle\":12");
        NftApply.Result r = removalRefused("Error: Could not process rule: Device or resource busy\n", JUMP, added);
        assertThat(r.error().code()).isEqualTo(ErrorCode.LOCK_CONTENDED);
        assertThat(r.error().getMessage()).startsWith("nftables refused removing the iptables backend's chains");
    }

    @Test
    void aRemovalRefusedForAnotherBusyReasonStaysRetryable() {
        NftApply.Result r = removalRefused("Error: Could not process rule: Resource temporarily unavailable\n", JUMP);
        assertThat(r.error().code()).isEqualTo(ErrorCode.LOCK_CONTENDED);
        assertThat(r.error().getMessage()).startsWith("nftables refused removing the iptables backend's chains");
    }

    private static final String JUMP = "{\"rule\":{\"family\":\"ip\",\"table\":\"filter\",\"chain\":\"OUTPUT\","
            + "\"handle\":9,\"expr\":[{\"jump\":{\"target\":\"NETFENCE-OUT\"}}]}}";

    /**
     * An apply whose read-back shows the iptables backend's NETFENCE-OUT and the jump {@link #JUMP},
     * whose removal nftables refuses with {@code error}, and which then reads back the chain and {@code after}.
     */
    private NftApply.Result removalRefused(String error, String... after) {
        String chain = "{\"chain\":{\"family\":\"ip\",\"table\":\"filter\",\"name\":\"NETFENCE-OUT\",\"handle\":4}}";
        answers.add(ok(""));
        answers.add(ok(listing(chain, JUMP)));
        answers.add(new NftContext.Run(1, "", error));
        List<String> again = new ArrayList<>(List.of(chain));
        again.addAll(List.of(after));
        answers.add(ok(listing(again.toArray(String[]::new))));
        return steps().apply(commands, plan, planTable());
    }

    @Test
    void aRuleThatReadsBackDifferentlyIsVerifyFailedAndCountsAsChanged() {
        answers.add(ok(""));
        answers.add(ok(listing().replace("\"loopback\"", "\"ether\"")));
        NftApply.Result r = steps().apply(commands, plan, planTable());
        assertThat(r.changed()).isTrue();
        assertThat(r.error().code()).isEqualTo(ErrorCode.VERIFY_FAILED);
        assertThat(r.error().getMessage()).contains("chain output rule 2 reads").contains("ether");
    }

    @Test
    void aMissingTableIsVerifyFailed() {
        answers.add(ok(""));
        answers.add(ok("{\"nftables\":[{\"metainfo\":{}}]}"));
        assertThat(steps().apply(commands, plan, planTable()).error().getMessage())
                .contains("table inet netfence is missing");
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
        "Error: Could not process rule: Operation not permitted|FIREWALL_UNAVAILABLE",
        "Error: Could not process rule: Protocol not supported|FIREWALL_UNAVAILABLE",
        "Error: Could not process rule: Device or resource busy|LOCK_CONTENDED",
        "Error: syntax error, unexpected junk|RULES_REJECTED",
        "Error: Could not process rule: Invalid argument|RULES_REJECTED"})
    void aRefusedTransactionChangesNothingAndIsSortedByItsErrorText(String error, ErrorCode code) {
        answers.add(new NftContext.Run(1, "", error + "\n"));
        NftApply.Result r = steps().apply(commands, plan, planTable());
        assertThat(r.changed()).isFalse();
        assertThat(r.error().code()).isEqualTo(code);
        assertThat(r.error().getMessage()).isEqualTo("nftables refused netfence's table: " + error);
        assertThat(r.error().retryable()).isEqualTo(code.retryable());
    }

    @Test
    void aVerifiedApplyCarriesTheGenerationItsReadBackBelongsTo() {
        answers.add(ok(""));
        answers.add(ok(listing()));
        generations.addAll(List.of(7L, 7L));
        assertThat(steps().apply(commands, plan, planTable()).generation()).isEqualTo(7);
    }

    @ParameterizedTest(name = "generation {0} before the read-back, {1} after")
    @CsvSource({"7, 8", "-1, -1", "7, -1"})
    void aReadBackAroundWhichTheGenerationMovedOrIsUnknownBelongsToNoGeneration(long before, long after) {
        answers.add(ok(""));
        answers.add(ok(listing()));
        generations.addAll(List.of(before, after));
        NftApply.Result r = steps().apply(commands, plan, planTable());
        assertThat(r.error()).isNull();
        assertThat(r.generation()).isEqualTo(NftGeneration.UNKNOWN);
    }

    @Test
    void aDriftCheckThatFindsADifferenceRemembersNoGeneration() {
        answers.add(ok(listing("{\"rule\":{\"family\":\"inet\",\"table\":\"netfence\",\"chain\":\"output\","
                + "\"handle\":99,\"expr\":[{\"accept\":null}]}}")));
        generations.add(7L);
        NftApply.Drift d = steps().drift(commands, plan, planTable());
        assertThat(d.difference()).isPresent();
        assertThat(d.generation()).isEqualTo(NftGeneration.UNKNOWN);
        assertThat(generations).isEmpty();
        answers.add(ok(listing()));
        generations.addAll(List.of(9L, 9L));
        assertThat(steps().drift(commands, plan, planTable()))
                .isEqualTo(new NftApply.Drift(java.util.Optional.empty(), 9));
    }

    @Test
    void aLeftoverRemovalThatNeverHadItsTurnInLibnftablesStaysRetryable() {
        String busy = new dev.netfence.netns.LibNftables.Busy("a command").getMessage();
        assertThat(NftApply.removalRefused(busy, true).code()).isEqualTo(dev.netfence.core.ErrorCode.LOCK_CONTENDED);
        assertThat(NftApply.removalRefused("Error: Could not process rule: Device or resource busy", true).code())
                .as("the kernel's own EBUSY with nothing listed holding the chains").isEqualTo(
                        dev.netfence.core.ErrorCode.RULES_REJECTED);
    }

    @Test
    void aListingOfADormantTableIsAMismatch() {
        answers.add(ok(""));
        answers.add(ok(listing().replace("\"handle\":1}}", "\"handle\":1,\"flags\":\"netfence\"}}")));
        NftApply.Result r = steps().apply(commands, plan, planTable());
        assertThat(r.error().getMessage()).contains("has flags where netfence writes none");
    }
}
