package dev.netfence.nft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.rules.PlannedRules;
import dev.netfence.rules.RulePlanner;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.Sh;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The reconciler's read-back through the namespace's nftables ruleset generation, against the
 * real kernel: a resync of a namespace whose ruleset has not changed since netfence verified it
 * makes no read-back, and every change the workload (root with CAP_NET_ADMIN in its namespace)
 * makes between two resyncs is still found: a rule added to netfence's table, the table deleted,
 * a chain flushed. A change elsewhere in the namespace costs one full read-back (no drift), a
 * different plan is always read back, and a released namespace is read back in full. The
 * generation is asked through a socket kept from a trip into the namespace, from the caller's
 * own thread: it answers for that namespace (a commit there is seen) until it is forgotten.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class InProcessNftGenerationKernelTest {
    private static PlannedRules PLAN;
    private static InProcessNft nft;
    private String name;

    @BeforeAll
    static void start() throws Exception {
        PLAN = NftRendererTest.plan("{\"schemaVersion\":1,\"mode\":\"bridge\","
                + "\"allowedEndpoints\":[\"198.51.100.7:443\",\"[2001:db8::7]:443\"]}");
        nft = InProcessNft.start(Path.of("/proc"), 2);
    }

    @AfterAll
    static void stop() throws Exception {
        if (nft != null) {
            nft.close();
        }
    }

    @BeforeEach
    void makeNamespace() {
        byte[] random = new byte[4];
        new SecureRandom().nextBytes(random);
        name = "nfgen-" + HexFormat.of().formatHex(random);
        Sh.ok("ip", "netns", "add", name);
    }

    @AfterEach
    void removeNamespace() {
        Sh.run("ip", "netns", "del", name);
    }

    private PinnedNamespace pinned() throws Exception {
        Path path = Path.of("/run/netns", name);
        return new PinnedNamespace(0, path, NamespaceId.of(path), () -> { });
    }

    /** The workload: nft run as root inside the namespace. */
    private void workload(String... args) {
        List<String> argv = new ArrayList<>(List.of("nsenter", "--net=/run/netns/" + name, "nft"));
        argv.addAll(Arrays.asList(args));
        Sh.ok(argv.toArray(String[]::new));
    }

    private static Instant soon() {
        return Instant.now().plusSeconds(20);
    }

    private Check resync(PlannedRules plan) throws Exception {
        long full = nft.fullReadBacks();
        long skipped = nft.skippedReadBacks();
        Optional<String> drift;
        try (PinnedNamespace ns = pinned()) {
            drift = nft.drift(ns, plan, soon());
        }
        return new Check(drift, nft.fullReadBacks() - full, nft.skippedReadBacks() - skipped);
    }

    private record Check(Optional<String> drift, long full, long skipped) {}

    private void applied() throws Exception {
        try (PinnedNamespace ns = pinned()) {
            nft.apply(ns, PLAN, false, soon(), new AtomicBoolean());
        }
    }

    @Test
    void aResyncOfANamespaceWhoseRulesetDidNotChangeMakesNoReadBack() throws Exception {
        applied();
        for (int i = 0; i < 3; i++) {
            assertThat(resync(PLAN)).isEqualTo(new Check(Optional.empty(), 0, 1));
        }
    }

    @Test
    void aRuleTheWorkloadAddsToNetfencesTableBetweenTwoResyncsIsFound() throws Exception {
        applied();
        assertThat(resync(PLAN)).isEqualTo(new Check(Optional.empty(), 0, 1));
        workload("insert", "rule", "inet", "netfence", NftRenderer.OUT_CHAIN, "accept");
        Check after = resync(PLAN);
        assertThat(after.full()).isEqualTo(1);
        assertThat(after.drift()).isPresent();
        // and again at the next resync: a difference is never remembered as verified
        assertThat(resync(PLAN).drift()).isPresent();
    }

    @Test
    void theTableDeletedOrAChainFlushedBetweenTwoResyncsIsFound() throws Exception {
        applied();
        assertThat(resync(PLAN).skipped()).isEqualTo(1);
        workload("flush", "chain", "inet", "netfence", NftRenderer.IN_CHAIN);
        assertThat(resync(PLAN).drift()).isPresent();
        applied();
        assertThat(resync(PLAN)).isEqualTo(new Check(Optional.empty(), 0, 1));
        workload("delete", "table", "inet", "netfence");
        assertThat(resync(PLAN).drift()).isPresent();
        applied();
        assertThat(resync(PLAN)).isEqualTo(new Check(Optional.empty(), 0, 1));
        workload("flush", "chain", "inet", "netfence", NftRenderer.FWD_CHAIN);
        assertThat(resync(PLAN).drift()).as("the forward chain's drop flushed").isPresent();
        applied();
        assertThat(resync(PLAN)).isEqualTo(new Check(Optional.empty(), 0, 1));
        workload("delete", "chain", "inet", "netfence", NftRenderer.FWD_CHAIN);
        assertThat(resync(PLAN).drift()).as("the forward chain deleted").isPresent();
    }

    @Test
    void aChangeElsewhereInTheNamespaceCostsOneFullReadBackThatFindsNoDrift() throws Exception {
        applied();
        workload("add", "table", "ip", "workload");
        assertThat(resync(PLAN)).isEqualTo(new Check(Optional.empty(), 1, 0));
        assertThat(resync(PLAN)).isEqualTo(new Check(Optional.empty(), 0, 1));
        // a change that is undone before the resync still moves the generation: read back in full
        workload("add", "chain", "inet", "netfence", "extra");
        workload("delete", "chain", "inet", "netfence", "extra");
        assertThat(resync(PLAN)).isEqualTo(new Check(Optional.empty(), 1, 0));
    }

    @Test
    void theSocketKeptFromATripIntoTheNamespaceAnswersForThatNamespaceFromHomeUntilItIsForgotten() throws Exception {
        applied();
        NamespaceId id = NamespaceId.of(Path.of("/run/netns", name));
        assertThat(nft.unchanged(id, PLAN)).as("asked from this thread, at home").isTrue();
        assertThat(highSockets()).as("kept above select(2)'s range").isPositive();
        workload("add", "table", "ip", "workload"); // a commit in the namespace, not in this thread's
        assertThat(nft.unchanged(id, PLAN)).isFalse();
        assertThat(resync(PLAN)).isEqualTo(new Check(Optional.empty(), 1, 0));
        assertThat(nft.unchanged(id, PLAN)).isTrue();
        nft.forget(id);
        assertThat(nft.unchanged(id, PLAN)).as("no socket, nothing verified").isFalse();
    }

    /** Sockets this process holds at descriptor numbers of 1024 or more. */
    private static long highSockets() throws Exception {
        try (var fds = java.nio.file.Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(f -> Integer.parseInt(f.getFileName().toString()) >= 1024).filter(f -> {
                try {
                    return java.nio.file.Files.readSymbolicLink(f).toString().startsWith("socket:");
                } catch (java.io.IOException gone) {
                    return false;
                }
            }).count();
        }
    }

    @Test
    void anotherPlanIsAlwaysReadBackAndAReleasedNamespaceIsReadBackInFull() throws Exception {
        applied();
        Check other = resync(new RulePlanner().quarantine());
        assertThat(other.full()).isEqualTo(1);
        assertThat(other.drift()).isPresent();
        assertThat(resync(PLAN)).isEqualTo(new Check(Optional.empty(), 1, 0));
        nft.forget(NamespaceId.of(Path.of("/run/netns", name)));
        assertThat(resync(PLAN)).isEqualTo(new Check(Optional.empty(), 1, 0));
        assertThat(resync(PLAN)).isEqualTo(new Check(Optional.empty(), 0, 1));
    }
}
