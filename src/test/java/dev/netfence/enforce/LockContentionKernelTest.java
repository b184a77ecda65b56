package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.CommandResult;
import dev.netfence.netns.CommandRunner;
import dev.netfence.netns.CommandTimeoutException;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.Rulesets;
import dev.netfence.testkit.SandboxNetExtension;
import dev.netfence.testkit.Sh;
import dev.netfence.testkit.XtablesLockHolder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The xtables lock held by another program while the enforcer writes with the legacy backend
 * (the only one that takes it). The test holds {@code /run/xtables.lock} with a real
 * {@code flock} child; the enforcer's real {@code iptables-legacy-restore --wait=1} gives up with
 * exit 4, which must surface as LOCK_CONTENDED and be retried. The lock is released by the test
 * only once the enforcer has actually been refused (seen through a recording decorator around
 * the real runner), so nothing here depends on timing, and it is held for a few seconds at most:
 * the lock is host-global.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class LockContentionKernelTest {
    private static final int ALLOWED = 8001;
    private static final int OTHER = 8002;

    @RegisterExtension
    static final SandboxNetExtension SANDBOX = SandboxNetExtension.withPeerListening(ALLOWED, OTHER);
    private XtablesLockHolder lock;

    @BeforeEach
    void emptyLegacyRules() throws IOException {
        byte[] empty = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"
                .getBytes(StandardCharsets.UTF_8);
        for (String bin : List.of("iptables-legacy-restore", "ip6tables-legacy-restore")) {
            Sh.ok(empty, "ip", "netns", "exec", SANDBOX.net().containerNs(), bin, "--wait=10");
        }
        SANDBOX.net().resetRules();
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), OTHER)).isEqualTo("OK");
    }

    @AfterEach
    void releaseLock() {
        if (lock != null) {
            lock.close();
        }
    }

    @Test
    void aLockHeldForAWhileIsRetriedUntilItFreesAndThenThePolicyLands() throws Exception {
        lock = XtablesLockHolder.hold();
        LockWatchingRunner runner = new LockWatchingRunner(refused -> {
            lock.release();
            return true;
        });
        SimpleMeterRegistry registry = new SimpleMeterRegistry();

        EnforcementResult result = enforcer(config(OnFailure.QUARANTINE), runner, registry)
                .enforce(request(Instant.now().plusSeconds(30)));

        assertThat(runner.contended).as("the enforcer was really refused the lock").isNotEmpty();
        assertThat(runner.contended.get(0).stderr()).contains("holding the xtables lock");
        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        assertThat(result.backend()).isEqualTo("iptables-legacy");
        assertThat(result.attempts()).isGreaterThan(1);
        assertThat(registry.counter("netfence.retries", "code", "LOCK_CONTENDED").count()).isGreaterThanOrEqualTo(1);
        assertThat(legacySave("iptables-legacy-save")).contains("-A OUTPUT -j NETFENCE-OUT");
        assertThat(legacySave("ip6tables-legacy-save")).contains("-A OUTPUT -j NETFENCE-OUT");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), ALLOWED)).isEqualTo("OK");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), OTHER)).isEqualTo("REFUSED");
    }

    @Test
    void aLockHeldPastTheDeadlineFailsTheEventAndChangesNothingInLeaveMode() throws Exception {
        String v4 = legacySave("iptables-legacy-save");
        String v6 = legacySave("ip6tables-legacy-save");
        lock = XtablesLockHolder.hold();
        LockWatchingRunner runner = new LockWatchingRunner(refused -> false);

        EnforcementResult result = enforcer(config(OnFailure.LEAVE), runner, new SimpleMeterRegistry())
                .enforce(request(Instant.now().plusSeconds(3)));
        boolean stillHeld = lock.holding();
        lock.release();

        assertThat(stillHeld).as("the lock was held for the whole attempt").isTrue();
        assertThat(runner.contended).isNotEmpty();
        assertThat(result.status()).as("%s", result).isEqualTo("failed");
        assertThat(result.error().code()).isIn("LOCK_CONTENDED", "TIMEOUT");
        assertThat(result.quarantined()).isFalse();
        assertThat(legacySave("iptables-legacy-save")).isEqualTo(v4).doesNotContain("NETFENCE");
        assertThat(legacySave("ip6tables-legacy-save")).isEqualTo(v6).doesNotContain("NETFENCE");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), OTHER)).isEqualTo("OK");
    }

    @Test
    void aLockHeldPastTheDeadlineFailsTheEventAndTheQuarantineLandsOnceTheLockFrees() throws Exception {
        Instant deadline = Instant.now().plusSeconds(3);
        lock = XtablesLockHolder.hold();
        // keep refusing until the event's deadline is gone; free the lock for the quarantine
        LockWatchingRunner runner = new LockWatchingRunner(refused -> {
            if (Instant.now().isAfter(deadline)) {
                lock.release();
                return true;
            }
            return false;
        });

        EnforcementResult result = enforcer(config(OnFailure.QUARANTINE), runner, new SimpleMeterRegistry())
                .enforce(request(deadline));

        assertThat(runner.contended).isNotEmpty();
        assertThat(runner.released).as("the lock was freed only after the deadline").isTrue();
        assertThat(result.status()).as("%s", result).isEqualTo("failed");
        assertThat(result.error().code()).isIn("LOCK_CONTENDED", "TIMEOUT");
        assertThat(result.quarantined()).isTrue();
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), ALLOWED)).isEqualTo("REFUSED");
        assertThat(SANDBOX.net().containerTcp(SANDBOX.net().peerV4(), OTHER)).isEqualTo("REFUSED");
    }

    private static String legacySave(String bin) {
        return Rulesets.normalize(Sh.ok("ip", "netns", "exec", SANDBOX.net().containerNs(), bin, "-t", "filter"));
    }

    private static EnforcementRequest request(Instant deadline) {
        String json = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"" + SANDBOX.net().peerV4() + ":" + ALLOWED
                + "\"],\"dns\":false,\"outbound\":false,\"inbound\":false}";
        NetworkPolicy policy = new PolicyParser().parse(json.getBytes(StandardCharsets.UTF_8));
        return new EnforcementRequest(null, null, SANDBOX.net().containerPid(), policy, deadline);
    }

    /** Legacy backend, {@code --wait=1} so a held lock refuses quickly, many fast retries bounded by the deadline. */
    private static EnforcerConfig config(OnFailure onFailure) {
        return EnforcerConfig.custom().maxAttempts(100).backoff(Duration.ofMillis(50), Duration.ofMillis(200))
                .cgroupCheck(false).onFailure(onFailure).backend(BackendChoice.IPTABLES_LEGACY)
                .commandTimeout(Duration.ofSeconds(10)).lockWaitSeconds(1).quarantineBudget(Duration.ofSeconds(10))
                .build();
    }

    private static DefaultEnforcer enforcer(EnforcerConfig config, CommandRunner runner, SimpleMeterRegistry registry) {
        return new DefaultEnforcer(config, runner, Clock.systemUTC(), registry);
    }

    /**
     * The real runner, plus a record of every restore that was refused the xtables lock (exit 4);
     * after each refusal {@code onRefused} runs and says whether it released the lock.
     */
    private static final class LockWatchingRunner implements CommandRunner {
        private final ProcessCommandRunner real = new ProcessCommandRunner();
        private final Predicate<CommandResult> onRefused;
        final List<CommandResult> contended = new CopyOnWriteArrayList<>();
        volatile boolean released;

        LockWatchingRunner(Predicate<CommandResult> onRefused) {
            this.onRefused = onRefused;
        }

        @Override
        public CommandResult run(List<String> argv, byte[] stdin, Duration timeout)
                throws IOException, CommandTimeoutException, InterruptedException {
            CommandResult result = real.run(argv, stdin, timeout);
            boolean restore = argv.stream().anyMatch(a -> a.endsWith("tables-legacy-restore"));
            if (restore && result.exitCode() == 4 && !released) {
                contended.add(result);
                released = onRefused.test(result);
            }
            return result;
        }
    }
}
