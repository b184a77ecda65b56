package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.EnforcementResult;
import dev.netfence.core.ErrorCode;
import dev.netfence.enforce.FakeFirewall.Call;
import dev.netfence.iptables.RestoreRenderer;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.CommandResult;
import dev.netfence.netns.EndpointResolver;
import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.NamespacePinner;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.policy.Family;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
import dev.netfence.rules.RulePlanner;
import dev.netfence.testkit.MutableClock;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Retry, classification and fail-closed logic of the enforcer, against a recording fake iptables. */
class DefaultEnforcerTest {
    private static final String QUARANTINE_MARK =
            RestoreRenderer.comment(new RulePlanner().quarantine().forFamily(Family.IPV4));
    private static final NetworkPolicy POLICY = new PolicyParser().parse(("{\"schemaVersion\":1,\"mode\":\"bridge\","
            + "\"allowedEndpoints\":[\"198.51.100.7:443\",\"[2001:db8::7]:443\",\"pypi.internal:443\"],"
            + "\"dns\":true,\"outbound\":false,\"inbound\":false}").getBytes(StandardCharsets.UTF_8));

    @TempDir
    Path proc;

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final AtomicInteger pins = new AtomicInteger();
    private final AtomicInteger releases = new AtomicInteger();
    private final NamespacePinner pinner = (pid, containerId, runtime, deadline) -> {
        pins.incrementAndGet();
        return new PinnedNamespace(pid, Path.of("/proc/1000/fd/9"), new NamespaceId(4, 4026532000L), releases::incrementAndGet);
    };
    private final EndpointResolver resolver = (host, timeout) -> List.of(address("198.51.100.12"));

    @org.junit.jupiter.api.BeforeEach
    void containerProcesses() {
        FakeProc.container(proc, 4242, FakeProc.PODMAN_DEFAULT_CAPS);
    }

    @Test
    void lockContentionIsRetriedAndThenSucceeds() {
        AtomicInteger contended = new AtomicInteger();
        FakeFirewall fake = new FakeFirewall().failing(call -> isRestore(call, "iptables-nft-restore")
                && contended.getAndIncrement() == 0
                ? FakeFirewall.result(call, 4, "Another app is currently holding the xtables lock.") : null);

        DefaultEnforcer enforcer = enforcer(config(), fake, Clock.systemUTC());
        EnforcementResult result = enforcer.enforce(request(Instant.now().plusSeconds(30)));

        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        assertThat(result.attempts()).isEqualTo(2);
        assertThat(result.backend()).isEqualTo("iptables-nft");
        assertThat(result.resolved()).containsEntry("pypi.internal", List.of("198.51.100.12"));
        assertThat(registry.get("netfence.retries").tag("code", "LOCK_CONTENDED").counter().count()).isEqualTo(1.0);
        assertThat(registry.get("netfence.apply.duration").tag("status", "applied").timer().count()).isEqualTo(1);
        assertThat(registry.get("netfence.nft.trips.abandoned").gauge().value())
                .as("no in-process trip on the iptables backend").isZero();
        assertThat(releases.get()).isEqualTo(pins.get());
        // the gauge holds its object weakly: an enforcer collected before the read made it NaN (seen once in CI)
        java.lang.ref.Reference.reachabilityFence(enforcer);
    }

    @Test
    void rejectedRulesAreNotRetriedAndTheNamespaceIsQuarantined() {
        FakeFirewall fake = new FakeFirewall().failing(call -> isRestore(call, "iptables-nft-restore")
                && !call.stdin().contains(QUARANTINE_MARK) ? FakeFirewall.result(call, 2, "Error occurred at line: 4") : null);

        EnforcementResult result = enforcer(config(), fake, Clock.systemUTC()).enforce(request(Instant.now().plusSeconds(30)));

        assertThat(result.status()).isEqualTo("failed");
        assertThat(result.error().code()).isEqualTo("RULES_REJECTED");
        assertThat(result.error().retryable()).isFalse();
        assertThat(result.attempts()).isEqualTo(1);
        assertThat(result.quarantined()).isTrue();
        assertThat(result.families()).containsExactly("ipv4", "ipv6");
        assertThat(fake.restores()).filteredOn(c -> c.stdin().contains(QUARANTINE_MARK)).hasSize(2);
    }

    @Test
    void aFailureOnAnInterruptedThreadIsGivenUpNotQuarantined() {
        // netfence stops: its shutdown interrupts the worker while the write fails
        FakeFirewall fake = new FakeFirewall().failing(call -> {
            if (isRestore(call, "iptables-nft-restore") && !call.stdin().contains(QUARANTINE_MARK)) {
                Thread.currentThread().interrupt();
                return FakeFirewall.result(call, 2, "Error occurred at line: 4");
            }
            return null;
        });
        DefaultEnforcer enforcer = enforcer(config(), fake, Clock.systemUTC());

        try {
            assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> enforcer.enforce(request(Instant.now()
                    .plusSeconds(30))))).isInstanceOf(EnforcementInterrupted.class)
                    .hasCauseInstanceOf(InterruptedException.class);
            assertThat(Thread.currentThread().isInterrupted()).as("the flag stays set").isTrue();
        } finally {
            Thread.interrupted();
        }
        assertThat(fake.restores()).as("no quarantine written").noneMatch(c -> c.stdin().contains(QUARANTINE_MARK));
        assertThat(releases.get()).isEqualTo(pins.get());
    }

    @Test
    void leaveModeDoesNotQuarantineWhenNothingWasChanged() {
        FakeFirewall fake = new FakeFirewall().failing(call -> isRestore(call, "iptables-nft-restore")
                ? FakeFirewall.result(call, 2, "Error occurred at line: 4") : null);

        EnforcementResult result = enforcer(EnforcerConfig.from(config()).onFailure(OnFailure.LEAVE).build(), fake, Clock.systemUTC())
                .enforce(request(Instant.now().plusSeconds(30)));

        assertThat(result.error().code()).isEqualTo("RULES_REJECTED");
        assertThat(result.quarantined()).isFalse();
        assertThat(fake.restores()).hasSize(1);
    }

    @Test
    void aFailureLeftAsItIsSaysWhereTheContainerIsSoTheReconcilerCanRetryIt() {
        FakeFirewall fake = new FakeFirewall().failing(call -> isRestore(call, "iptables-nft-restore")
                ? FakeFirewall.result(call, 2, "Error occurred at line: 4") : null);

        EnforcementResult result = enforcer(EnforcerConfig.from(config()).onFailure(OnFailure.LEAVE).build(), fake,
                Clock.systemUTC()).enforce(request(Instant.now().plusSeconds(30)));

        assertThat(result.quarantined()).isFalse();
        assertThat(result.target()).as("where it failed").isEqualTo(new dev.netfence.core.EnforcementTarget(4242, 4,
                4026532000L));
    }

    @Test
    void aMissingPolicyLeftAsItIsSaysWhereTheContainerIsAndWritesNothing() {
        FakeFirewall fake = new FakeFirewall();

        EnforcementResult result = enforcer(EnforcerConfig.from(config()).onFailure(OnFailure.LEAVE).build(), fake,
                Clock.systemUTC()).failClosed("c1", null, 4242, ErrorCode.POLICY_NOT_FOUND, "no policy");

        assertThat(result.error().code()).isEqualTo("POLICY_NOT_FOUND");
        assertThat(result.quarantined()).isFalse();
        assertThat(result.target()).isEqualTo(new dev.netfence.core.EnforcementTarget(4242, 4, 4026532000L));
        assertThat(fake.calls).as("nothing written").isEmpty();
        assertThat(releases.get()).as("the pin let go").isEqualTo(pins.get()).isEqualTo(1);
    }

    @Test
    void anUnexpectedFailureCaughtAtTheEventBoundaryIsQuarantinedEvenInLeaveMode() {
        FakeFirewall fake = new FakeFirewall();

        EnforcementResult result = enforcer(EnforcerConfig.from(config()).onFailure(OnFailure.LEAVE).build(), fake,
                Clock.systemUTC()).failClosed("c1", null, 4242, ErrorCode.INTERNAL_ERROR, "unexpected java.lang.Error");

        assertThat(result.error().code()).isEqualTo("INTERNAL_ERROR");
        assertThat(result.quarantined()).isTrue();
        assertThat(fake.calls).as("the quarantine written").isNotEmpty();
    }

    @Test
    void aMissingPolicyOfAContainerThatCannotBeFoundSaysNowhere() {
        NamespacePinner gone = (pid, c, r, d) -> {
            throw new EnforcementException(ErrorCode.CONTAINER_NOT_FOUND, "process " + pid + " does not exist");
        };
        DefaultEnforcer enforcer = new DefaultEnforcer(EnforcerConfig.from(config()).onFailure(OnFailure.LEAVE).build(),
                new FakeFirewall(), Clock.systemUTC(), registry, resolver, gone);

        EnforcementResult result = enforcer.failClosed("c1", null, 4242, ErrorCode.POLICY_NOT_FOUND, "no policy");

        assertThat(result.error().code()).isEqualTo("POLICY_NOT_FOUND");
        assertThat(result.target()).isNull();
    }

    @Test
    void anIpv6FailureAfterIpv4WasWrittenIsQuarantinedEvenInLeaveMode() {
        FakeFirewall fake = new FakeFirewall().failing(call -> isRestore(call, "ip6tables-nft-restore")
                && !call.stdin().contains(QUARANTINE_MARK) ? FakeFirewall.result(call, 1, "bad rule") : null);

        EnforcementResult result = enforcer(EnforcerConfig.from(config()).onFailure(OnFailure.LEAVE).build(), fake, Clock.systemUTC())
                .enforce(request(Instant.now().plusSeconds(30)));

        assertThat(result.error().code()).isEqualTo("RULES_REJECTED");
        assertThat(result.quarantined()).isTrue();
    }

    @Test
    void retriesStopAtTheDeadlineWithTimeout() {
        MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
        FakeFirewall fake = new FakeFirewall().onEveryCall(() -> clock.advance(Duration.ofSeconds(1)))
                .failing(call -> isRestore(call, "iptables-nft-restore")
                        ? FakeFirewall.result(call, 4, "holding the xtables lock") : null);

        EnforcementResult result = enforcer(EnforcerConfig.from(config()).maxAttempts(50).build(), fake, clock)
                .enforce(request(clock.instant().plusSeconds(5)));

        assertThat(result.error().code()).isEqualTo("TIMEOUT");
        assertThat(result.attempts()).isBetween(2, 5);
    }

    @Test
    void aMissingFirewallBinaryIsNotRetried() {
        FakeFirewall fake = new FakeFirewall().failing(call -> isRestore(call, "iptables-nft-restore")
                ? FakeFirewall.result(call, -1, "") : null);

        EnforcementResult result = enforcer(EnforcerConfig.from(config()).onFailure(OnFailure.LEAVE).build(), fake, Clock.systemUTC())
                .enforce(request(Instant.now().plusSeconds(30)));

        assertThat(result.error().code()).isEqualTo("FIREWALL_UNAVAILABLE");
        assertThat(result.attempts()).isEqualTo(1);
    }

    @Test
    void aVanishedContainerIsSkippedWithoutRetriesOrQuarantine() {
        FakeFirewall fake = new FakeFirewall();
        NamespacePinner gone = (pid, c, r, d) -> {
            throw new EnforcementException(ErrorCode.CONTAINER_NOT_FOUND, "process " + pid + " does not exist");
        };
        DefaultEnforcer enforcer = new DefaultEnforcer(config(), fake, Clock.systemUTC(), registry, resolver, gone);

        EnforcementResult result = enforcer.enforce(request(Instant.now().plusSeconds(30)));

        assertThat(result.status()).isEqualTo("skipped");
        assertThat(result.attempts()).isEqualTo(1);
        assertThat(result.quarantined()).isFalse();
        assertThat(fake.calls).isEmpty();
    }

    @Test
    void aFailedLookupIsRetriedAndListedOnceItResolves() {
        AtomicInteger lookups = new AtomicInteger();
        EndpointResolver flaky = (host, timeout) -> {
            if (lookups.getAndIncrement() == 0) {
                throw new EnforcementException(ErrorCode.RESOLUTION_FAILED, "no answer");
            }
            return List.of(address("198.51.100.12"), address("2001:db8::12"));
        };
        DefaultEnforcer enforcer = new DefaultEnforcer(config(), new FakeFirewall(), Clock.systemUTC(), registry, flaky,
                pinner);

        EnforcementResult result = enforcer.enforce(request(Instant.now().plusSeconds(30)));

        assertThat(result.status()).isEqualTo("applied");
        assertThat(result.attempts()).isEqualTo(2);
        assertThat(result.resolved()).containsEntry("pypi.internal", List.of("198.51.100.12", "2001:db8::12"));
    }

    @Test
    void dnsGoesToThePolicysAndTheNodesResolversAndTheContainersResolvConfIsNeverRead() throws Exception {
        Files.createDirectories(proc.resolve("4242/root/etc"));
        Files.writeString(proc.resolve("4242/root/etc/resolv.conf"), "nameserver 10.99.0.1\n");
        FakeFirewall fake = new FakeFirewall();
        EnforcerConfig config = EnforcerConfig.from(config()).dnsServers(List.of(address("198.51.100.53"))).build();

        EnforcementResult result = enforcer(config, fake, Clock.systemUTC()).enforce(request(Instant.now().plusSeconds(30)));

        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        assertThat(result.nameservers()).containsExactly("198.51.100.53");
        assertThat(result.warnings()).isEmpty();
        String restored = fake.calls.stream().map(FakeFirewall.Call::stdin).filter(java.util.Objects::nonNull)
                .reduce("", String::concat);
        assertThat(restored).contains("-d 198.51.100.53/32 -p udp -m udp --dport 53", "-d 198.51.100.53/32 -p tcp -m tcp --dport 53")
                .doesNotContain("10.99.0.1");
    }

    @Test
    void dnsWithoutATrustedResolverAppliesWithoutADnsRuleAndWarns() {
        FakeFirewall fake = new FakeFirewall();

        EnforcementResult result = enforcer(config(), fake, Clock.systemUTC()).enforce(request(Instant.now().plusSeconds(30)));

        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        assertThat(result.nameservers()).isEmpty();
        assertThat(result.warnings()).containsExactly(dev.netfence.rules.RulePlanner.NO_RESOLVER_WARNING);
        assertThat(fake.calls.stream().map(FakeFirewall.Call::stdin).filter(java.util.Objects::nonNull))
                .noneMatch(in -> in.contains("--dport 53"));
    }

    @Test
    void aDockerContainerWhosePlanRejectsDockersResolverWithDnsOnIsWarnedOthersAreNot() {
        EnforcerConfig trusting = EnforcerConfig.from(config()).dnsServers(List.of(address("127.0.0.11"))).build();
        EnforcerConfig other = EnforcerConfig.from(config()).dnsServers(List.of(address("198.51.100.53"))).build();
        Instant deadline = Instant.now().plusSeconds(30);

        EnforcementResult docker = enforcer(other, new FakeFirewall(), Clock.systemUTC())
                .enforce(new EnforcementRequest("c0ffee", "docker", 4242, POLICY, deadline));
        EnforcementResult trusted = enforcer(trusting, new FakeFirewall(), Clock.systemUTC())
                .enforce(new EnforcementRequest("c0ffee", "docker", 4242, POLICY, deadline));
        EnforcementResult podman = enforcer(other, new FakeFirewall(), Clock.systemUTC())
                .enforce(new EnforcementRequest("c0ffee", "podman", 4242, POLICY, deadline));

        assertThat(docker.status()).as("%s", docker).isEqualTo("applied");
        assertThat(docker.warnings()).containsExactly(EnforcementResults.DOCKER_RESOLVER_WARNING);
        assertThat(trusted.warnings()).as("127.0.0.11 trusted").isEmpty();
        assertThat(podman.warnings()).as("not docker").isEmpty();
    }

    @Test
    void aReconciliationWhoseReadBackCannotBeVerifiedWritesTheRulesAgain() {
        java.util.concurrent.atomic.AtomicBoolean armed = new java.util.concurrent.atomic.AtomicBoolean();
        FakeFirewall fake = new FakeFirewall().failing(call -> call.argv().stream().anyMatch(a -> a.endsWith("-save"))
                && armed.compareAndSet(true, false) ? FakeFirewall.result(call, -2, "") : null);
        DefaultEnforcer enforcer = enforcer(config(), fake, Clock.systemUTC());
        assertThat(enforcer.enforce(request(Instant.now().plusSeconds(30))).status()).isEqualTo("applied");
        int restores = fake.restores().size();

        armed.set(true); // a workload filled its ruleset: the reconciliation's first read-back is too large to read
        EnforcementResult result = enforcer.reconcile(request(Instant.now().plusSeconds(30)));

        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        assertThat(fake.restores().size()).as("written again, not left as found").isGreaterThan(restores);
    }

    @Test
    void aDryRunPlansAndReportsButRunsNothing() {
        FakeFirewall fake = new FakeFirewall();

        EnforcementResult result = enforcer(EnforcerConfig.from(config()).dryRun(true).build(), fake, Clock.systemUTC())
                .enforce(request(Instant.now().plusSeconds(30)));

        assertThat(result.status()).isEqualTo("applied");
        assertThat(result.backend()).isNull();
        assertThat(result.ruleCount()).isPositive();
        assertThat(fake.calls).isEmpty();
        assertThat(pins.get()).isZero();
    }

    @Test
    void aDryRunAsksNoRuntimeForThePidOfAStartWithoutOne() {
        // the pipeline asks before the container's lock; a dry run enters nothing and asked nothing before (the crash
        // and SIGTERM ITs' events have no pid, and no runtime knows their containers)
        AtomicInteger asked = new AtomicInteger();
        NamespacePinner withRuntime = new NamespacePinner() {
            @Override
            public PinnedNamespace pin(Integer pid, String containerId, String runtime, Instant deadline) {
                return pinner.pin(pid, containerId, runtime, deadline);
            }

            @Override
            public Integer pidOf(String containerId, String runtime, Instant deadline) {
                asked.incrementAndGet();
                return 777;
            }
        };
        Instant deadline = Instant.now().plusSeconds(30);

        assertThat(new DefaultEnforcer(EnforcerConfig.from(config()).dryRun(true).build(), new FakeFirewall(),
                Clock.systemUTC(), registry, resolver, withRuntime).runtimePid("c0ffee", "podman", deadline)).isNull();
        assertThat(asked).hasValue(0);
        assertThat(new DefaultEnforcer(config(), new FakeFirewall(), Clock.systemUTC(), registry, resolver, withRuntime)
                .runtimePid("c0ffee", "podman", deadline)).isEqualTo(777);
    }

    private boolean isRestore(Call call, String binary) {
        return call.argv().contains(binary);
    }

    private EnforcerConfig config() {
        return EnforcerConfig.custom().backend(BackendChoice.AUTO).backoff(Duration.ofMillis(1), Duration.ofMillis(5))
                .procRoot(proc).build();
    }

    private DefaultEnforcer enforcer(EnforcerConfig config, FakeFirewall fake, Clock clock) {
        return new DefaultEnforcer(config, fake, clock, registry, resolver, pinner);
    }

    private static EnforcementRequest request(Instant deadline) {
        return new EnforcementRequest("c0ffee", null, 4242, POLICY, deadline);
    }

    private static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** A clock tests move by hand. */
}
