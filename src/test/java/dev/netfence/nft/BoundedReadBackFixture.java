package dev.netfence.nft;

import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.rules.PlannedRules;
import dev.netfence.testkit.Sh;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/**
 * One scratch namespace per test, and the in-process nft backend per class, for
 * {@link BoundedReadBackKernelTest}, {@link TableBytesKernelTest} and {@link LeftoverTableKernelTest}:
 * netfence's apply and drift check of a small plan in that namespace, and the workload's writes
 * made the way it would make them, with {@code nft} and {@code iptables-nft} inside the namespace.
 * What a read-back cost is {@link InProcessNft#listedChars}, the characters of JSON libnftables
 * listed, and {@link InProcessNft#readBackSize}, those plus the bytes of netfence's table read.
 */
abstract class BoundedReadBackFixture {
    /** netfence's table for the plan below lists back in about 6,000 characters; 20,000 rules list in megabytes. */
    static final long ONE_TABLE = 64 * 1024;
    static InProcessNft nft;
    PlannedRules plan;
    String name;
    Path scratch;

    @BeforeAll
    static void start() throws Exception {
        nft = InProcessNft.start(Path.of("/proc"), 1);
    }

    @AfterAll
    static void stop() throws Exception {
        if (nft != null) {
            nft.close();
        }
    }

    @BeforeEach
    void makeNamespace() throws Exception {
        byte[] random = new byte[4];
        new SecureRandom().nextBytes(random);
        name = "nft-" + HexFormat.of().formatHex(random) + "-b";
        Sh.ok("ip", "netns", "add", name);
        scratch = Files.createTempFile("netfence-bloat", ".txt");
        plan = NftRendererTest.plan("{\"schemaVersion\":1,\"mode\":\"bridge\","
                + "\"allowedEndpoints\":[\"198.51.100.7:443\",\"[2001:db8::7]:443\"]}");
    }

    @AfterEach
    void removeNamespace() throws Exception {
        Sh.run("ip", "netns", "del", name);
        Files.deleteIfExists(scratch);
    }

    PinnedNamespace pinned() throws Exception {
        Path path = Path.of("/run/netns", name);
        return new PinnedNamespace(0, path, NamespaceId.of(path), () -> { });
    }

    static Instant soon() {
        return Instant.now().plusSeconds(60);
    }

    /** Runs {@code program -f FILE} (or {@code < FILE}) inside the namespace with {@code text} as the file. */
    void inside(String text, String... program) throws Exception {
        Files.writeString(scratch, text, StandardCharsets.UTF_8);
        String[] argv = new String[program.length + 5];
        argv[0] = "ip";
        argv[1] = "netns";
        argv[2] = "exec";
        argv[3] = name;
        System.arraycopy(program, 0, argv, 4, program.length);
        argv[argv.length - 1] = scratch.toString();
        Sh.ok(argv);
    }

    /**
     * A table of the workload's with 2,000 chains: what {@code list table} would fetch whole
     * (libnftables 1.0.6 dumps every chain of the namespace for it), and netfence must not.
     */
    void manyChains() throws Exception {
        StringBuilder chains = new StringBuilder("add table inet many\n");
        for (int i = 0; i < 2000; i++) {
            chains.append("add chain inet many c").append(i).append('\n');
        }
        inside(chains.toString(), "nft", "-f");
    }

    static String rules(int n, String chain) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append("add rule ").append(chain).append(" ip daddr 10.").append(i / 250).append('.')
                    .append(i % 250).append(".1 tcp dport ").append(1000 + i % 5000).append(" accept\n");
        }
        return sb.toString();
    }

    void apply() throws Exception {
        try (PinnedNamespace ns = pinned()) {
            nft.apply(ns, plan, false, soon(), new AtomicBoolean());
        }
    }

    Optional<String> drift() throws Exception {
        try (PinnedNamespace ns = pinned()) {
            return nft.drift(ns, plan, soon());
        }
    }

    String ruleset() {
        return Sh.ok("ip", "netns", "exec", name, "nft", "list", "ruleset");
    }
}
