package dev.netfence.nft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.Sh;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A workload holding CAP_NET_ADMIN fills its namespace's ruleset to make netfence's read-back
 * expensive (listing 100,000 rules through libnftables and parsing them took 20 s and 1.3 GB per
 * apply, and every resync after a commit of the workload's paid it again): what it holds beside
 * netfence's table (a table of its own of any size, 2,000 chains, more tables than one dump
 * looks at) is never listed back; past {@link NftCensus#LIMIT} chains, sets and objects nothing
 * is written, so that libnftables never loads them; and a transaction of its own running during
 * the census is not taken for a difference. Changes to netfence's own table are
 * {@link TableBytesKernelTest}'s, the iptables backend's leftover tables
 * {@link LeftoverTableKernelTest}'s.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class BoundedReadBackKernelTest extends BoundedReadBackFixture {
    /** Applies of each of two threads into one namespace, and drift checks beside them. */
    private static final int CONCURRENT_APPLIES = 300;

    /**
     * Before a write libnftables fetches every table's chains, sets, objects and flowtables into
     * netfence's process: a workload that fills its namespace with them past the census's limit
     * gets nothing written (RULES_REJECTED), so netfence never loads them; netfence's own table
     * stays as it was, and once the workload's objects are gone the apply goes through.
     */
    @Test
    void aNamespaceFilledWithNftablesObjectsIsNotWrittenSoLibnftablesNeverLoadsThem() throws Exception {
        apply();
        String table = Sh.ok("ip", "netns", "exec", name, "nft", "-a", "list", "table", "inet", "netfence");
        StringBuilder counters = new StringBuilder("add table inet bloat\n");
        for (int i = 0; i < NftCensus.LIMIT; i++) {
            counters.append("add counter inet bloat c").append(i).append('\n');
        }
        inside(counters.toString(), "nft", "-f");

        assertThatThrownBy(this::apply).isInstanceOfSatisfying(EnforcementException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.RULES_REJECTED);
            assertThat(e.getMessage()).contains("chains, sets, objects and flowtables number more than "
                    + NftCensus.LIMIT);
        });
        assertThat(Sh.ok("ip", "netns", "exec", name, "nft", "-a", "list", "table", "inet", "netfence"))
                .as("netfence's table untouched: same rules, same handles").isEqualTo(table);

        inside("delete table inet bloat\n", "nft", "-f");
        apply();
    }

    @Test
    void aTableOfTheWorkloadsOwnIsNeverListedBackWhateverItsSize() throws Exception {
        apply();
        inside("add table inet bloat\nadd chain inet bloat out { type filter hook output priority 10; }\n"
                + rules(20_000, "inet bloat out"), "nft", "-f");
        long before = nft.readBackSize();
        apply();
        assertThat(drift()).as("a full read-back: the workload's commit moved the generation").isEmpty();
        assertThat(nft.readBackSize() - before).as("two read-backs of netfence's table").isBetween(1L, 2 * ONE_TABLE);
        assertThat(ruleset()).as("the workload's table is left alone").contains("table inet bloat");
    }

    @Test
    void inANamespaceOfManyChainsNetfencesChainsAreListedOneByOne() throws Exception {
        manyChains();
        long before = nft.readBackSize();
        apply();
        assertThat(drift()).isEmpty();
        assertThat(nft.readBackSize() - before).as("netfence's three chains, twice").isBetween(1L, 2 * ONE_TABLE);
    }

    @Test
    void inANamespaceOfMoreTablesThanOneDumpLooksAtTheTablesAreLookedUpAndARepairStillHappens() throws Exception {
        StringBuilder tables = new StringBuilder();
        for (int i = 0; i <= NftCensus.MAX_TABLES; i++) {
            tables.append("add table inet t").append(i).append('\n');
        }
        inside(tables.toString(), "nft", "-f");
        apply();
        Sh.ok("ip", "netns", "exec", name, "nft", "flush", "chain", "inet", "netfence", "output");
        assertThat(drift()).hasValueSatisfying(d -> assertThat(d).contains("chain output lacks rule 1"));
        apply();
        assertThat(drift()).isEmpty();
    }

    /**
     * One apply beside another writer in the namespace, as the enforcer retries it: a chain listing
     * that the other writer's commit interleaved with (a read-back that lacks or has a rule,
     * VERIFY_FAILED, retryable) is made again, up to 5 times in all; a census difference (the
     * table's chain count, what this test is about) is never retried here.
     */
    private void applyBesideAnotherWriter(InProcessNft nft) throws Exception {
        for (int attempt = 1; ; attempt++) {
            try (PinnedNamespace ns = pinned()) {
                nft.apply(ns, plan, false, soon(), new AtomicBoolean());
                return;
            } catch (EnforcementException e) {
                if (e.code() != ErrorCode.VERIFY_FAILED || e.getMessage().contains("chains, sets or objects")
                        || attempt == 5) {
                    throw e;
                }
            }
        }
    }

    @Test
    void anotherTransactionRunningInTheNamespaceDuringTheCensusIsNotTakenForADifference() throws Exception {
        // the kernel lowers the replaced table's use count at each message of a transaction, before
        // its commit: a census taken meanwhile saw 0 chains (the bench's nft floor, two applies in
        // one namespace at a time, failed on it); listings show committed state only
        ExecutorService writers = Executors.newFixedThreadPool(2);
        apply();
        try (InProcessNft three = InProcessNft.start(Path.of("/proc"), 3)) {
            List<Future<Integer>> applies = new ArrayList<>();
            for (int w = 0; w < 2; w++) {
                applies.add(writers.submit(() -> {
                    int n = 0;
                    for (; n < CONCURRENT_APPLIES; n++) {
                        applyBesideAnotherWriter(three);
                    }
                    return n;
                }));
            }
            List<String> differences = new ArrayList<>();
            int unread = 0;
            for (int i = 0; i < CONCURRENT_APPLIES; i++) {
                try (PinnedNamespace ns = pinned()) {
                    java.util.Optional<String> d = three.drift(ns, plan, soon());
                    // committed to at every count (two writers without pause, on a loaded machine): not read,
                    // and said so, which is no difference taken from a census
                    if (d.isPresent() && d.get().startsWith("the namespace's ruleset changed each time netfence counted it")) {
                        unread++;
                    } else {
                        d.ifPresent(differences::add);
                    }
                }
            }
            for (Future<Integer> f : applies) {
                assertThat(f.get()).isEqualTo(CONCURRENT_APPLIES);
            }
            assertThat(differences).isEmpty();
            assertThat(unread).as("read-backs not read for the commits beside them").isLessThan(CONCURRENT_APPLIES / 2);
        } finally {
            writers.shutdownNow();
        }
        assertThat(drift()).isEmpty();
    }
}
