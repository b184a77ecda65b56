package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.enforce.FakeFirewall.Call;
import dev.netfence.iptables.RestoreRenderer;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.CommandRunner;
import dev.netfence.netns.EndpointResolver;
import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.NamespacePinner;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.policy.Family;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
import dev.netfence.rules.RulePlanner;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What one write runs, against a recording fake iptables that models the hooks: two commands per
 * family in the common case, no read before the restore, exactly one repair pass when the guess
 * about the hooks was wrong, and one flush of the namespace's connection tracking at the end.
 */
class ApplyPipelineTest {
    private static final String QUARANTINE_MARK =
            RestoreRenderer.comment(new RulePlanner().quarantine().forFamily(Family.IPV4));
    private static final NetworkPolicy POLICY = new PolicyParser().parse(("{\"schemaVersion\":1,\"mode\":\"bridge\","
            + "\"allowedEndpoints\":[\"198.51.100.7:443\",\"[2001:db8::7]:443\"],"
            + "\"dns\":false,\"outbound\":false,\"inbound\":false}").getBytes(StandardCharsets.UTF_8));
    private static final String PIN = "/proc/1000/fd/9";
    private static final String OUTPUT_HOOK = "-A OUTPUT -j NETFENCE-OUT";
    private static final String INPUT_HOOK = "-A INPUT -j NETFENCE-IN";
    private static final String FORWARD_HOOK = "-A FORWARD -j NETFENCE-FWD";
    private static final String OTHER = "-A OUTPUT -d 198.51.100.53/32 -j ACCEPT";
    private static final List<String> RESTORE4 = restore("iptables-nft-restore");
    private static final List<String> RESTORE6 = restore("ip6tables-nft-restore");
    private static final List<String> SAVE4 = save("iptables-nft-save");
    private static final List<String> SAVE6 = save("ip6tables-nft-save");
    private static final List<String> FLUSH = List.of("nsenter", "--net=" + PIN, "--", "conntrack", "-F");
    /** A namespace the iptables path writes for the first time loses any nft table (no libnftables in-process here). */
    private static final List<String> NFT_TABLE_REMOVED = List.of("nsenter", "--net=" + PIN, "--", "nft", "-f", "-");

    @TempDir
    Path proc;

    private final NamespacePinner pinner = (pid, containerId, runtime, deadline) ->
            new PinnedNamespace(pid, Path.of(PIN), new NamespaceId(4, 4026532000L), () -> { });
    private final EndpointResolver resolver = (host, timeout) -> List.of();

    @org.junit.jupiter.api.BeforeEach
    void containerProcesses() {
        FakeProc.container(proc, 4242, FakeProc.PODMAN_DEFAULT_CAPS);
        FakeProc.container(proc, 4343, FakeProc.PODMAN_DEFAULT_CAPS);
    }

    @Test
    void theCommonCaseRunsOneRestoreAndOneReadBackPerFamilyAndNothingElse() {
        FakeFirewall fake = new FakeFirewall();
        DefaultEnforcer enforcer = enforcer(config(), fake);

        EnforcementResult first = apply(enforcer);
        List<Call> firstCalls = List.copyOf(fake.calls);
        fake.calls.clear();
        EnforcementResult again = apply(enforcer);

        assertThat(first.status()).as("%s", first).isEqualTo("applied");
        assertThat(again.status()).as("%s", again).isEqualTo("applied");
        assertThat(firstCalls).extracting(Call::argv)
                .containsExactly(RESTORE4, RESTORE6, SAVE4, SAVE6, NFT_TABLE_REMOVED, FLUSH);
        assertThat(firstCalls.get(4).stdin()).isEqualTo("table inet netfence\ndelete table inet netfence\n");
        assertThat(fake.calls).extracting(Call::argv).containsExactly(RESTORE4, RESTORE6, SAVE4, SAVE6, FLUSH);
        assertThat(firstCalls.get(0).stdin()).as("a namespace not seen before gets its hooks")
                .endsWith("-I OUTPUT 1 -j NETFENCE-OUT\n-I INPUT 1 -j NETFENCE-IN\n-I FORWARD 1 -j NETFENCE-FWD\nCOMMIT\n");
        assertThat(fake.calls.get(0).stdin()).as("a namespace verified before keeps them")
                .doesNotContain("-I ").doesNotContain("-D ");
        for (String family : List.of("v4", "v6")) {
            assertThat(fake.output(family)).containsExactly(OUTPUT_HOOK);
            assertThat(fake.input(family)).containsExactly(INPUT_HOOK);
            assertThat(fake.forward(family)).containsExactly(FORWARD_HOOK);
        }
    }

    @Test
    void hooksLeftFromBeforeAreDuplicatedByTheGuessAndRepairedInExactlyOnePass() {
        FakeFirewall fake = new FakeFirewall().builtins(List.of(OUTPUT_HOOK, OTHER), List.of(INPUT_HOOK),
                List.of(FORWARD_HOOK));

        EnforcementResult result = apply(enforcer(config(), fake));

        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        assertThat(result.attempts()).isEqualTo(1);
        assertThat(fake.calls).extracting(Call::argv)
                .containsExactly(RESTORE4, RESTORE6, SAVE4, RESTORE4, SAVE4, SAVE6, RESTORE6, SAVE6, NFT_TABLE_REMOVED, FLUSH);
        assertThat(fake.calls.get(3).stdin()).endsWith("-D OUTPUT -j NETFENCE-OUT\n-D OUTPUT -j NETFENCE-OUT\n"
                + "-I OUTPUT 1 -j NETFENCE-OUT\n-D INPUT -j NETFENCE-IN\n-D INPUT -j NETFENCE-IN\n"
                + "-I INPUT 1 -j NETFENCE-IN\n-D FORWARD -j NETFENCE-FWD\n-D FORWARD -j NETFENCE-FWD\n"
                + "-I FORWARD 1 -j NETFENCE-FWD\nCOMMIT\n");
        for (String family : List.of("v4", "v6")) {
            assertThat(fake.output(family)).containsExactly(OUTPUT_HOOK, OTHER);
            assertThat(fake.input(family)).containsExactly(INPUT_HOOK);
            assertThat(fake.forward(family)).containsExactly(FORWARD_HOOK);
        }
    }

    @Test
    void aStaleGuessAboutAHookSomeoneDeletedOrPushedDownIsRepairedInExactlyOnePass() {
        FakeFirewall fake = new FakeFirewall();
        DefaultEnforcer enforcer = enforcer(config(), fake);
        assertThat(apply(enforcer).status()).isEqualTo("applied");
        fake.builtins(List.of(OTHER), List.of("-A INPUT -j ACCEPT", INPUT_HOOK), List.of());
        fake.calls.clear();

        EnforcementResult result = apply(enforcer);

        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        assertThat(fake.calls).extracting(Call::argv)
                .containsExactly(RESTORE4, RESTORE6, SAVE4, RESTORE4, SAVE4, SAVE6, RESTORE6, SAVE6, FLUSH);
        assertThat(fake.calls.get(3).stdin()).endsWith("-I OUTPUT 1 -j NETFENCE-OUT\n"
                + "-D INPUT -j NETFENCE-IN\n-I INPUT 1 -j NETFENCE-IN\n-I FORWARD 1 -j NETFENCE-FWD\nCOMMIT\n");
        for (String family : List.of("v4", "v6")) {
            assertThat(fake.output(family)).containsExactly(OUTPUT_HOOK, OTHER);
            assertThat(fake.input(family)).containsExactly(INPUT_HOOK, "-A INPUT -j ACCEPT");
            assertThat(fake.forward(family)).containsExactly(FORWARD_HOOK);
        }
    }

    @Test
    void aHookThatIsStillWrongAfterTheRepairIsVerifyFailedAndTheNamespaceQuarantined() {
        FakeFirewall fake = new FakeFirewall().pushingHooksDownAfter(call -> !call.stdin().contains(QUARANTINE_MARK));

        EnforcementResult result = apply(enforcer(config(), fake));

        assertThat(result.status()).isEqualTo("failed");
        assertThat(result.error().code()).isEqualTo("VERIFY_FAILED");
        assertThat(result.error().message()).contains("after repairing the hooks")
                .contains("OUTPUT jump to netfence's chain is not the first rule");
        assertThat(result.attempts()).isEqualTo(4);
        List<Call> policyRestores = fake.restores().stream().filter(c -> !c.stdin().contains(QUARANTINE_MARK)).toList();
        assertThat(policyRestores).as("per attempt: both families, then one repair of IPv4").hasSize(4 * 3);
        assertThat(policyRestores).filteredOn(c -> c.stdin().contains("-D OUTPUT")).hasSize(4);
        assertThat(result.quarantined()).isTrue();
        for (String family : List.of("v4", "v6")) {
            assertThat(fake.output(family)).first().isEqualTo(OUTPUT_HOOK);
            assertThat(fake.output(family)).filteredOn(OUTPUT_HOOK::equals).hasSize(1);
        }
    }

    @Test
    void aFailedWriteForgetsThatTheNamespaceWasHooked() {
        boolean[] contended = {false};
        FakeFirewall fake = new FakeFirewall().failing(call -> contended[0] && call.argv().equals(RESTORE4)
                ? FakeFirewall.result(call, 4, "Another app is currently holding the xtables lock.") : null);
        DefaultEnforcer enforcer = enforcer(EnforcerConfig.from(config()).onFailure(OnFailure.LEAVE).maxAttempts(1).build(), fake);
        assertThat(apply(enforcer).status()).isEqualTo("applied");
        contended[0] = true;
        assertThat(apply(enforcer).error().code()).isEqualTo("LOCK_CONTENDED");
        contended[0] = false;
        fake.calls.clear();

        EnforcementResult result = apply(enforcer);

        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        assertThat(fake.calls.get(0).stdin()).contains("-I OUTPUT 1 -j NETFENCE-OUT");
        assertThat(fake.calls).extracting(Call::argv)
                .containsExactly(RESTORE4, RESTORE6, SAVE4, RESTORE4, SAVE4, SAVE6, RESTORE6, SAVE6, NFT_TABLE_REMOVED, FLUSH);
        assertThat(fake.output("v4")).containsExactly(OUTPUT_HOOK);
    }

    @Test
    void twoContainersOfOnePodAppliedAtOnceTakeTurnsAndLeaveOneHook() throws Exception {
        FakeFirewall fake = new FakeFirewall().builtins(List.of(OUTPUT_HOOK), List.of(INPUT_HOOK), List.of(FORWARD_HOOK));
        List<String> callers = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch firstIsWriting = new CountDownLatch(1);
        CountDownLatch secondIsWriting = new CountDownLatch(1);
        CommandRunner runner = (argv, stdin, timeout) -> {
            String me = Thread.currentThread().getName();
            callers.add(me);
            if (me.equals("first") && firstIsWriting.getCount() > 0) {
                firstIsWriting.countDown();
                // room for the second writer to run a command now, which the turn-taking must prevent
                secondIsWriting.await(500, TimeUnit.MILLISECONDS);
            } else if (me.equals("second")) {
                secondIsWriting.countDown();
            }
            return fake.run(argv, stdin, timeout);
        };
        DefaultEnforcer enforcer = new DefaultEnforcer(config(), runner, Clock.systemUTC(), new SimpleMeterRegistry(),
                resolver, pinner);
        EnforcementResult[] results = new EnforcementResult[2];
        Thread first = new Thread(() -> results[0] = apply(enforcer), "first");
        Thread second = new Thread(() -> results[1] = apply(enforcer, 4343), "second");

        first.start();
        assertThat(firstIsWriting.await(10, TimeUnit.SECONDS)).isTrue();
        second.start();
        first.join(30_000);
        second.join(30_000);

        assertThat(results).extracting(EnforcementResult::status).containsExactly("applied", "applied");
        assertThat(String.join(" ", callers)).as("the second writer's commands all come after the first's")
                .matches("(first )+(second )*second");
        for (String family : List.of("v4", "v6")) {
            assertThat(fake.output(family)).containsExactly(OUTPUT_HOOK);
            assertThat(fake.input(family)).containsExactly(INPUT_HOOK);
            assertThat(fake.forward(family)).containsExactly(FORWARD_HOOK);
        }
    }

    @Test
    void theBenchmarksWithoutContainmentVariantLeavesOutTheFlushAndTheChecksAndNothingElse() {
        FakeProc.container(proc, 4444, FakeProc.PODMAN_DEFAULT_CAPS | 1L << 13); // CAP_NET_RAW
        FakeFirewall withFake = new FakeFirewall();
        FakeFirewall withoutFake = new FakeFirewall();
        EnforcementResult with = apply(enforcer(config(), withFake), 4444);
        EnforcementResult without = apply(new DefaultEnforcer(config(), withoutFake, Clock.systemUTC(),
                new SimpleMeterRegistry(), resolver, pinner, dev.netfence.hostguard.HostGuards.create(
                        dev.netfence.hostguard.HostGuardMode.OFF, withoutFake), false), 4444);

        assertThat(with.status()).as("%s", with).isEqualTo("applied");
        assertThat(without.status()).as("%s", without).isEqualTo("applied");
        assertThat(with.risks()).containsExactly("CAP_NET_RAW");
        assertThat(without.risks()).as("capabilities not read").isEmpty();
        assertThat(withFake.calls).extracting(Call::argv)
                .containsExactly(RESTORE4, RESTORE6, SAVE4, SAVE6, NFT_TABLE_REMOVED, FLUSH);
        assertThat(withoutFake.calls).extracting(Call::argv)
                .containsExactly(RESTORE4, RESTORE6, SAVE4, SAVE6, NFT_TABLE_REMOVED);
        assertThat(withoutFake.calls).extracting(Call::stdin).isEqualTo(withFake.calls.subList(0, 5).stream()
                .map(Call::stdin).toList());
    }

    private EnforcerConfig config() {
        return EnforcerConfig.custom().backend(BackendChoice.IPTABLES_NFT).backoff(Duration.ofMillis(1), Duration.ofMillis(5))
                .procRoot(proc).build();
    }

    private DefaultEnforcer enforcer(EnforcerConfig config, FakeFirewall fake) {
        return new DefaultEnforcer(config, fake, Clock.systemUTC(), new SimpleMeterRegistry(), resolver, pinner);
    }

    private static EnforcementResult apply(DefaultEnforcer enforcer) {
        return apply(enforcer, 4242);
    }

    private static EnforcementResult apply(DefaultEnforcer enforcer, int pid) {
        return enforcer.enforce(new EnforcementRequest("c0ffee", null, pid, POLICY, Instant.now().plusSeconds(30)));
    }

    private static List<String> restore(String binary) {
        return List.of("nsenter", "--net=" + PIN, "--", binary, "--noflush", "--wait=5");
    }

    private static List<String> save(String binary) {
        return List.of("nsenter", "--net=" + PIN, "--", binary, "-t", "filter");
    }
}
