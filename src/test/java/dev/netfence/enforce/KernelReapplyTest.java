package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.iptables.FilterState;
import dev.netfence.iptables.SaveParser;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.policy.Family;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
import dev.netfence.rules.Direction;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.NetnsDescriptors;
import dev.netfence.testkit.SandboxNetExtension;
import dev.netfence.testkit.Sh;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Applying into a namespace whose hooks someone changed by hand, against the real kernel (nft
 * backend, both families): before netfence ever applied there, and between two applies of the
 * same enforcer (which then expects its hooks in place). Whatever the state, the apply ends with
 * exactly one hook, first in OUTPUT and INPUT, another program's rule is kept below it, and a
 * real connection shows the policy in force. Also: two containers sharing the namespace applied
 * at once both end applied with one hook, and many applies give back every namespace descriptor
 * they took.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class KernelReapplyTest {
    private static final int ALLOWED = 8001;
    private static final int OTHER = 8002;

    @RegisterExtension
    static final SandboxNetExtension SANDBOX = SandboxNetExtension.withPeerListening(ALLOWED, OTHER);

    @BeforeEach
    void resetRules() throws Exception {
        SANDBOX.net().resetRules();
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), OTHER)).isEqualTo("OK");
    }

    @Test
    void hooksPushedDownAndDuplicatedBeforeTheFirstApplyEndAsOneHookOnTop() throws Exception {
        for (Family family : Family.values()) {
            iptables(family, "-N", "NETFENCE-OUT");
            iptables(family, "-N", "NETFENCE-IN");
            iptables(family, "-A", "OUTPUT", "-d", peer(family), "-p", "tcp", "--dport", "" + OTHER, "-j", "ACCEPT");
            iptables(family, "-A", "OUTPUT", "-j", "NETFENCE-OUT");
            iptables(family, "-A", "OUTPUT", "-j", "NETFENCE-OUT");
            iptables(family, "-A", "INPUT", "-j", "NETFENCE-IN");
            iptables(family, "-A", "INPUT", "-j", "NETFENCE-IN");
        }

        EnforcementResult result = apply(enforcer());

        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        assertOneHookOnTopAndTheOtherRuleKept();
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), OTHER)).isEqualTo("REFUSED");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV6(), OTHER)).isEqualTo("REFUSED");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), ALLOWED)).isEqualTo("OK");
    }

    @Test
    void aHookPushedDownBetweenTwoAppliesIsPutBackOnTop() throws Exception {
        DefaultEnforcer enforcer = enforcer();
        assertThat(apply(enforcer).status()).isEqualTo("applied");
        for (Family family : Family.values()) {
            iptables(family, "-I", "OUTPUT", "1", "-d", peer(family), "-p", "tcp", "--dport", "" + OTHER, "-j", "ACCEPT");
        }
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), OTHER)).as("the rule above the hook lets traffic by").isEqualTo("OK");

        EnforcementResult again = apply(enforcer);

        assertThat(again.status()).as("%s", again).isEqualTo("applied");
        assertOneHookOnTopAndTheOtherRuleKept();
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), OTHER)).isEqualTo("REFUSED");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV6(), OTHER)).isEqualTo("REFUSED");
    }

    @Test
    void reapplyingAfterSomeoneDeletedTheHooksPutsThemBack() throws Exception {
        DefaultEnforcer enforcer = enforcer();
        assertThat(apply(enforcer).status()).isEqualTo("applied");
        for (Family family : Family.values()) {
            iptables(family, "-D", "OUTPUT", "-j", "NETFENCE-OUT");
            iptables(family, "-D", "INPUT", "-j", "NETFENCE-IN");
        }
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV6(), OTHER)).as("without hooks nothing is filtered").isEqualTo("OK");

        EnforcementResult again = apply(enforcer);

        assertThat(again.status()).as("%s", again).isEqualTo("applied");
        for (Family family : Family.values()) {
            FilterState state = state(family);
            assertThat(state.builtinRules(Direction.OUT)).containsExactly("-A OUTPUT -j NETFENCE-OUT");
            assertThat(state.builtinRules(Direction.IN)).containsExactly("-A INPUT -j NETFENCE-IN");
        }
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), OTHER)).isEqualTo("REFUSED");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV6(), OTHER)).isEqualTo("REFUSED");
    }

    @Test
    void reapplyingAfterSomeoneDeletedTheForwardHookAndFlushedItsChainPutsBothBack() throws Exception {
        DefaultEnforcer enforcer = enforcer();
        assertThat(apply(enforcer).status()).isEqualTo("applied");
        for (Family family : Family.values()) {
            iptables(family, "-D", "FORWARD", "-j", "NETFENCE-FWD");
            iptables(family, "-F", "NETFENCE-FWD");
            iptables(family, "-A", "FORWARD", "-j", "ACCEPT");
        }

        EnforcementResult again = apply(enforcer);

        assertThat(again.status()).as("%s", again).isEqualTo("applied");
        assertThat(again.attempts()).as("repaired against the read-back, not by a second attempt").isEqualTo(1);
        for (Family family : Family.values()) {
            FilterState state = state(family);
            assertThat(state.builtinRules(Direction.FORWARD)).containsExactly("-A FORWARD -j NETFENCE-FWD", "-A FORWARD -j ACCEPT");
            assertThat(state.ownedRules(Direction.FORWARD)).singleElement().asString().endsWith("-j DROP");
        }
    }

    @Test
    void aChainNameThatForgesTheDeletedHooksInTheSaveOutputIsDriftNotInForce() throws Exception {
        assertForgedHooksAreDrift(family -> { // through nft's JSON: a chain name is 256 bytes of anything
            String nftFamily = family == Family.IPV4 ? "ip" : "ip6";
            Path json = Files.createTempFile("forge", ".json");
            try {
                Files.writeString(json, "{\"nftables\":[{\"add\":{\"chain\":{\"family\":\"" + nftFamily
                        + "\",\"table\":\"filter\",\"name\":\"zz - [0:0]\\n-A INPUT -j NETFENCE-IN\\n"
                        + "-A OUTPUT -j NETFENCE-OUT\\n:zzz\"}}}]}");
                Sh.ok("ip", "netns", "exec", SANDBOX.net().containerNs(), "nft", "-j", "-f", json.toString());
            } finally {
                Files.delete(json);
            }
        });
    }

    @Test
    void aRuleWhoseRecentListNameForgesTheDeletedHooksInTheSaveOutputIsDriftNotInForce() throws Exception {
        // xt_recent's list name is printed unquoted and raw: well-formed lines of the workload's choosing
        assertForgedHooksAreDrift(family -> iptables(family, "-A", "FORWARD", "-m", "recent", "--rcheck", "--name",
                "a\n-A INPUT -j NETFENCE-IN\n-A OUTPUT -j NETFENCE-OUT\n-A FORWARD", "-j", "RETURN"));
    }

    /** A workload holding CAP_NET_ADMIN deletes the hooks and forges their lines with {@code forge}; a resync must not say applied. */
    private static void assertForgedHooksAreDrift(ForgeLines forge) throws Exception {
        DefaultEnforcer enforcer = enforcer();
        assertThat(apply(enforcer).status()).isEqualTo("applied");
        for (Family family : Family.values()) {
            iptables(family, "-D", "OUTPUT", "-j", "NETFENCE-OUT");
            iptables(family, "-D", "INPUT", "-j", "NETFENCE-IN");
            forge.in(family);
            assertThat(SANDBOX.net().save(family)).as("the forged lines are in the save output")
                    .contains("\n-A OUTPUT -j NETFENCE-OUT\n").contains("\n-A INPUT -j NETFENCE-IN\n");
            assertThat(state(family).malformed()).as("and the text is found untrustworthy").isNotNull();
        }
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), OTHER)).as("unhooked: nothing filtered").isEqualTo("OK");

        EnforcementResult resync = enforcer.reconcile(request(SANDBOX.net().containerPid()));

        assertThat(resync.status()).as("%s", resync).isNotEqualTo("applied");
        assertThat(resync.error().message()).contains("not what iptables-save prints");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), OTHER)).isEqualTo("REFUSED");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV6(), OTHER)).isEqualTo("REFUSED");
    }

    @FunctionalInterface
    private interface ForgeLines {
        void in(Family family) throws Exception;
    }

    @Test
    void twoContainersOfOnePodAppliedAtOnceBothApplyAndLeaveOneHook() throws Exception {
        Process sibling = new ProcessBuilder("ip", "netns", "exec", SANDBOX.net().containerNs(), "sleep", "infinity")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectErrorStream(true).start();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            awaitSleeping(sibling);
            DefaultEnforcer enforcer = enforcer();
            List<Future<EnforcementResult>> results = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                results.add(pool.submit(() -> apply(enforcer)));
                results.add(pool.submit(() -> enforcer.enforce(request((int) sibling.pid()))));
            }
            for (Future<EnforcementResult> r : results) {
                EnforcementResult result = r.get(60, TimeUnit.SECONDS);
                assertThat(result.status()).as("%s", result).isEqualTo("applied");
            }
        } finally {
            pool.shutdownNow();
            sibling.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }

        for (Family family : Family.values()) {
            FilterState state = state(family);
            assertThat(state.builtinRules(Direction.OUT)).containsExactly("-A OUTPUT -j NETFENCE-OUT");
            assertThat(state.builtinRules(Direction.IN)).containsExactly("-A INPUT -j NETFENCE-IN");
        }
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), OTHER)).isEqualTo("REFUSED");
    }

    @Test
    void manyAppliesAndRefusalsGiveBackEveryNamespaceDescriptor() throws Exception {
        int before = NetnsDescriptors.open();
        Process gone = new ProcessBuilder("ip", "netns", "exec", SANDBOX.net().containerNs(), "true").start();
        gone.waitFor();
        List<String> statuses = new ArrayList<>();

        DefaultEnforcer enforcer = enforcer();
        for (int i = 0; i < 20; i++) {
            statuses.add(apply(enforcer).status());
        }
        statuses.add(apply(enforcer()).status());
        statuses.add(enforcer.enforce(request((int) ProcessHandle.current().pid())).error().code());
        statuses.add(enforcer.enforce(request((int) gone.pid())).error().code());

        assertThat(statuses).containsOnly("applied", "HOST_NAMESPACE_REFUSED", "CONTAINER_NOT_FOUND")
                .filteredOn("applied"::equals).hasSize(21);
        assertThat(NetnsDescriptors.open()).isEqualTo(before);
    }

    private static void assertOneHookOnTopAndTheOtherRuleKept() {
        for (Family family : Family.values()) {
            FilterState state = state(family);
            assertThat(state.builtinRules(Direction.OUT)).hasSize(2);
            assertThat(state.builtinRules(Direction.OUT).get(0)).isEqualTo("-A OUTPUT -j NETFENCE-OUT");
            assertThat(state.builtinRules(Direction.OUT).get(1)).contains("--dport " + OTHER).endsWith("-j ACCEPT");
            assertThat(state.builtinRules(Direction.IN)).containsExactly("-A INPUT -j NETFENCE-IN");
        }
    }

    private static void awaitSleeping(Process p) throws Exception {
        for (int i = 0; i < 500; i++) {
            try {
                if (Files.readString(Path.of("/proc/" + p.pid() + "/cmdline")).startsWith("sleep")) {
                    return;
                }
            } catch (IOException notYet) {
                // still starting
            }
            Thread.sleep(10);
        }
        throw new IllegalStateException("process " + p.pid() + " did not start sleeping");
    }

    private static FilterState state(Family family) {
        return new SaveParser().parse(SANDBOX.net().save(family));
    }

    private static void iptables(Family family, String... args) {
        List<String> argv = new ArrayList<>(List.of("ip", "netns", "exec", SANDBOX.net().containerNs(),
                family == Family.IPV4 ? "iptables-nft" : "ip6tables-nft"));
        argv.addAll(List.of(args));
        Sh.ok(argv.toArray(String[]::new));
    }

    private static String peer(Family family) {
        return family == Family.IPV4 ? SANDBOX.net().peerV4() : SANDBOX.net().peerV6();
    }

    private static DefaultEnforcer enforcer() {
        EnforcerConfig config = EnforcerConfig.custom().backend(BackendChoice.IPTABLES_NFT)
                .backoff(Duration.ofMillis(10), Duration.ofMillis(50)).build();
        return new DefaultEnforcer(config, new ProcessCommandRunner(), Clock.systemUTC(), new SimpleMeterRegistry());
    }

    private static EnforcementResult apply(DefaultEnforcer enforcer) {
        return enforcer.enforce(request(SANDBOX.net().containerPid()));
    }

    private static EnforcementRequest request(int pid) {
        String json = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"" + SANDBOX.net().peerV4() + ":" + ALLOWED
                + "\",\"[" + SANDBOX.net().peerV6() + "]:" + ALLOWED + "\"],\"dns\":false,\"outbound\":false,\"inbound\":false}";
        NetworkPolicy policy = new PolicyParser().parse(json.getBytes(StandardCharsets.UTF_8));
        return new EnforcementRequest(null, null, pid, policy, Clock.systemUTC().instant().plusSeconds(20));
    }
}
