package dev.netfence.nft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.rules.PlannedRules;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.Sh;
import dev.netfence.testkit.ThreadNamespaces;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * 3,000 in-process applies over 32 namespaces from 8 calling threads onto 8 namespace threads,
 * each namespace with a plan of its own (a different allowed endpoint, so a different digest):
 * afterwards every namespace holds exactly its own table, every thread of this JVM is in the
 * JVM's own namespace (by inode, from {@code /proc/self/task/*}/ns/net), no namespace thread had
 * to be discarded, and the host's rulesets, netfence's host table included, are unchanged. (10,000
 * applies until the fifty-sixth session: 111-125 s of one test JVM in `.ci/run`, whose whole run had
 * come within 100 s of its 20-minute budget on 2 cores; 3,000 still give each namespace ≈ 94
 * applies from all 8 callers and every namespace thread hundreds of trips.)
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class InProcessNftStressKernelTest {
    private static final int NAMESPACES = 32;
    private static final int CALLERS = 8;
    private static final int APPLIES = 3_000;

    @Test
    void threeThousandAppliesOverThirtyTwoNamespacesLeaveEachItsOwnTableAndEveryThreadAtHome() throws Exception {
        String prefix = "nft-" + HexFormat.of().formatHex(new SecureRandom().generateSeed(3)) + "-s";
        NamespaceId own = NamespaceId.of(Path.of("/proc/self/ns/net"));
        String hostTableBefore = Sh.run("nft", "list", "table", "inet", "netfence").toString();
        List<String> names = new ArrayList<>();
        List<PlannedRules> plans = new ArrayList<>();
        ExecutorService callers = Executors.newFixedThreadPool(CALLERS);
        try (InProcessNft nft = InProcessNft.start(Path.of("/proc"), 8)) {
            for (int i = 0; i < NAMESPACES; i++) {
                String name = prefix + i;
                Sh.ok("ip", "netns", "add", name);
                names.add(name);
                plans.add(NftRendererTest.plan("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":"
                        + "[\"198.51.100." + (i + 1) + ":443\",\"[2001:db8::" + (i + 1) + "]:443\"]}"));
            }
            AtomicInteger next = new AtomicInteger();
            List<Future<?>> done = new ArrayList<>();
            for (int c = 0; c < CALLERS; c++) {
                done.add(callers.submit(() -> {
                    for (int n = next.getAndIncrement(); n < APPLIES; n = next.getAndIncrement()) {
                        int i = n % NAMESPACES;
                        Path path = Path.of("/run/netns", names.get(i));
                        try (PinnedNamespace ns = new PinnedNamespace(0, path, NamespaceId.of(path), () -> { })) {
                            nft.apply(ns, plans.get(i), n % 4 == 0, Instant.now().plusSeconds(60), new AtomicBoolean());
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
            assertThat(nft.replacedThreads()).isZero();
            assertThat(ThreadNamespaces.now()).containsOnly(own);
            for (int i = 0; i < NAMESPACES; i++) {
                String listing = Sh.ok("nsenter", "--net=/run/netns/" + names.get(i), "nft", "list", "ruleset");
                assertThat(ruleLines(listing)).as(names.get(i)).isEqualTo(ruleLines(new NftRenderer().render(plans.get(i))));
            }
        } finally {
            callers.shutdownNow();
            names.forEach(n -> Sh.run("ip", "netns", "del", n));
        }
        assertThat(NamespaceId.of(Path.of("/proc/self/ns/net"))).isEqualTo(own);
        assertThat(Sh.run("nft", "list", "table", "inet", "netfence").toString()).isEqualTo(hostTableBefore);
    }

    private static List<String> ruleLines(String listing) {
        return listing.lines().map(String::strip).filter(l -> l.contains("comment \"netfence:")).toList();
    }
}
