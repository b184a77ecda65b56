package dev.netfence.enforce;

import static dev.netfence.enforce.TestRequests.request;
import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.core.ErrorCode;
import dev.netfence.enforce.FakeFirewall.Call;
import dev.netfence.netns.EndpointResolver;
import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.NamespacePinner;
import dev.netfence.netns.PinnedNamespace;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A quarantine is the whole namespace's: in a namespace several containers share (a pod), a
 * member quarantined for its own failure keeps every other member's policy out until it is
 * applied or gone (NAMESPACE_QUARANTINED, and those members quarantined too); members quarantined
 * only because of another, and the OCI hook's fence, keep no one out. Against a recording fake
 * iptables and a fake /proc whose processes all live in this JVM's own namespace.
 */
class SharedNamespaceQuarantineTest {
    private static final long NET_RAW = FakeProc.PODMAN_DEFAULT_CAPS | (1L << 13);
    private static final String ID_A = "a".repeat(64);
    private static final String ID_B = "b".repeat(64);
    private static final String ID_INFRA = "f".repeat(64);

    @TempDir
    Path proc;

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final EndpointResolver resolver = (host, timeout) -> List.of();
    private final FakeFirewall fake = new FakeFirewall();
    private NamespaceId shared;
    private DefaultEnforcer enforcer;

    @BeforeEach
    void aNamespaceSharedByThreeProcesses() throws IOException {
        shared = NamespaceId.of(Path.of("/proc/self/ns/net"));
        for (int pid : new int[] {4242, 4343, 4444}) {
            FakeProc.container(proc, pid, FakeProc.PODMAN_DEFAULT_CAPS);
            Files.createDirectories(proc.resolve(pid + "/ns"));
            Files.createSymbolicLink(proc.resolve(pid + "/ns/net"), Path.of("/proc/self/ns/net"));
        }
        NamespacePinner here = (pid, containerId, runtime, deadline) ->
                new PinnedNamespace(pid, Path.of("/proc/1000/fd/9"), shared, () -> { });
        enforcer = new DefaultEnforcer(EnforcerConfig.custom().backend(dev.netfence.netns.BackendChoice.IPTABLES_NFT)
                .backoff(Duration.ofMillis(1), Duration.ofMillis(5)).procRoot(proc)
                .refuseCapabilities(Set.of("CAP_NET_RAW")).build(), fake, Clock.systemUTC(), registry, resolver, here);
    }

    @Test
    void aMemberQuarantinedForItsOwnFailureKeepsTheOtherMembersPolicyOutUntilItHasGone() throws IOException {
        assertThat(enforcer.enforce(request(ID_A, 4242)).status()).isEqualTo("applied");
        FakeProc.container(proc, 4343, NET_RAW);
        assertThat(enforcer.enforce(request(ID_B, 4343)).error().code()).isEqualTo("UNSAFE_CAPABILITIES");
        fake.calls.clear();

        // A's resync: its rules differ from its plan (they are B's quarantine), so it would write them again
        EnforcementResult resync = enforcer.reconcile(request(ID_A, 4242), shared);

        assertThat(resync.status()).isEqualTo("failed");
        assertThat(resync.error().code()).isEqualTo("NAMESPACE_QUARANTINED");
        assertThat(resync.error().message()).contains(ID_B).contains("UNSAFE_CAPABILITIES");
        assertThat(resync.quarantined()).isTrue();
        assertThat(fake.restores()).extracting(Call::stdin).as("only the quarantine is written")
                .isNotEmpty().allMatch(s -> s.contains(FakeFirewall.QUARANTINE_MARK));

        gone(4343);
        assertThat(enforcer.reconcile(request(ID_A, 4242), shared).status()).as("B gone").isEqualTo("applied");
    }

    @Test
    void twoMembersQuarantinedForTheirOwnReasonsDoNotKeepEachOtherOutOnceTheReasonsAreGone() {
        FakeProc.container(proc, 4242, NET_RAW);
        FakeProc.container(proc, 4343, NET_RAW);
        assertThat(enforcer.enforce(request(ID_A, 4242)).error().code()).isEqualTo("UNSAFE_CAPABILITIES");
        assertThat(enforcer.enforce(request(ID_B, 4343)).error().code()).isEqualTo("UNSAFE_CAPABILITIES");

        FakeProc.container(proc, 4343, FakeProc.PODMAN_DEFAULT_CAPS); // B dropped the capability
        EnforcementResult b = enforcer.enforce(request(ID_B, 4343));
        assertThat(b.error().code()).as("A still holds it").isEqualTo("NAMESPACE_QUARANTINED");
        assertThat(b.quarantined()).isTrue();

        FakeProc.container(proc, 4242, FakeProc.PODMAN_DEFAULT_CAPS); // and A
        assertThat(enforcer.enforce(request(ID_A, 4242)).status()).as("B no longer keeps A out").isEqualTo("applied");
        assertThat(enforcer.enforce(request(ID_B, 4343)).status()).isEqualTo("applied");
    }

    @Test
    void aMemberQuarantinedOnlyBecauseOfAnotherKeepsNoOneOut() {
        FakeProc.container(proc, 4343, NET_RAW);
        assertThat(enforcer.enforce(request(ID_B, 4343)).error().code()).isEqualTo("UNSAFE_CAPABILITIES");
        assertThat(enforcer.enforce(request(ID_A, 4242)).error().code()).isEqualTo("NAMESPACE_QUARANTINED");

        FakeProc.container(proc, 4343, FakeProc.PODMAN_DEFAULT_CAPS);

        assertThat(enforcer.enforce(request(ID_B, 4343)).status()).isEqualTo("applied");
        assertThat(enforcer.enforce(request(ID_A, 4242)).status()).isEqualTo("applied");
    }

    @Test
    void theHooksFenceIsNoQuarantinedMemberAndAFencedContainerIsGovernedByAnotherMembersPolicy() {
        EnforcementResult fenced = enforcer.fence(ID_INFRA, null, 4444);
        assertThat(fenced.quarantined()).isTrue();
        assertThat(enforcer.enforcedForAnother(shared, ID_INFRA)).as("nothing in force yet").isFalse();

        assertThat(enforcer.enforce(request(ID_A, 4242)).status()).isEqualTo("applied");

        assertThat(enforcer.enforcedForAnother(shared, ID_INFRA)).isTrue();
        assertThat(enforcer.enforcedForAnother(shared, ID_A)).as("A's own policy is no other's").isFalse();
    }

    @Test
    void aPolicyInForceDoesNotGovernAFencedContainerWhileAMemberIsQuarantined() throws IOException {
        enforcer.fence(ID_INFRA, null, 4444);
        assertThat(enforcer.enforce(request(ID_A, 4242)).status()).isEqualTo("applied");
        FakeProc.container(proc, 4343, NET_RAW);
        enforcer.enforce(request(ID_B, 4343));

        assertThat(enforcer.enforcedForAnother(shared, ID_INFRA)).isFalse();
        gone(4343);
        assertThat(enforcer.enforcedForAnother(shared, ID_INFRA)).isTrue();
        gone(4242);
        assertThat(enforcer.enforcedForAnother(shared, ID_INFRA)).as("A gone too").isFalse();
    }

    @Test
    void afterARestartAMemberQuarantinedBeforeStillKeepsTheOthersPolicyOut() {
        DefaultEnforcer restarted = new DefaultEnforcer(EnforcerConfig.custom()
                .backend(dev.netfence.netns.BackendChoice.IPTABLES_NFT).procRoot(proc).build(), fake, Clock.systemUTC(),
                registry, resolver, (pid, containerId, runtime, deadline) ->
                        new PinnedNamespace(pid, Path.of("/proc/1000/fd/9"), shared, () -> { }));
        restarted.restoreQuarantined(ID_B, 4343, shared, ErrorCode.POLICY_NOT_FOUND.code());

        EnforcementResult a = restarted.enforce(request(ID_A, 4242));

        assertThat(a.error().code()).isEqualTo("NAMESPACE_QUARANTINED");
        assertThat(a.error().message()).contains(ID_B).contains("POLICY_NOT_FOUND");
    }

    @Test
    void aMemberWhoseProcessMovedItselfIntoAnotherNamespaceStillKeepsTheOthersPolicyOutUntilItsContainerLeaves()
            throws IOException {
        FakeProc.container(proc, 4343, NET_RAW);
        assertThat(enforcer.enforce(request(ID_B, 4343)).error().code()).isEqualTo("UNSAFE_CAPABILITIES");

        // B's pid runs unshare -n: alive, but no longer in the pod's namespace
        Files.delete(proc.resolve("4343/ns/net"));
        Files.createSymbolicLink(proc.resolve("4343/ns/net"), Path.of("/proc/self/ns/uts"));

        assertThat(enforcer.enforce(request(ID_A, 4242)).error().code()).isEqualTo("NAMESPACE_QUARANTINED");
        enforcer.left(ID_B, shared); // B's container stopped
        assertThat(enforcer.enforce(request(ID_A, 4242)).status()).isEqualTo("applied");
    }

    @Test
    void aMemberWhoseQuarantineCouldNotBeWrittenIsNoQuarantinedMemberThoughItsCapabilityStillRefusesThePod() {
        FakeProc.container(proc, 4343, NET_RAW);
        fake.failing(call -> call.stdin() != null && call.stdin().contains(FakeFirewall.QUARANTINE_MARK)
                ? new dev.netfence.netns.CommandResult(call.argv(), 1, "", "iptables-restore: line 3 failed") : null);

        EnforcementResult b = enforcer.enforce(request(ID_B, 4343));
        assertThat(b.error().code()).isEqualTo("UNSAFE_CAPABILITIES");
        assertThat(b.quarantined()).as("the quarantine failed").isFalse();

        fake.failing(call -> null);
        // no quarantined member (that would be NAMESPACE_QUARANTINED): refused for what B, still there, holds
        EnforcementResult a = enforcer.enforce(request(ID_A, 4242));
        assertThat(a.error().code()).as("%s", a).isEqualTo("UNSAFE_CAPABILITIES");
        assertThat(a.error().message()).contains("container " + ID_B);
        enforcer.left(ID_B, shared);
        assertThat(enforcer.enforce(request(ID_A, 4242)).status()).isEqualTo("applied");
    }

    @Test
    void aMemberWhoseQuarantineWasInForceStaysOneWhenARewriteOfItFails() {
        FakeProc.container(proc, 4343, NET_RAW);
        assertThat(enforcer.enforce(request(ID_B, 4343)).quarantined()).isTrue();
        // B makes its namespace busy: the quarantine's re-write at its next retry fails
        fake.failing(call -> call.stdin() != null && call.stdin().contains(FakeFirewall.QUARANTINE_MARK)
                ? new dev.netfence.netns.CommandResult(call.argv(), 4, "", "Another app is currently holding the xtables lock")
                : null);
        assertThat(enforcer.enforce(request(ID_B, 4343)).quarantined()).isFalse();
        fake.failing(call -> null);

        assertThat(enforcer.enforce(request(ID_A, 4242)).error().code()).isEqualTo("NAMESPACE_QUARANTINED");
    }

    @Test
    void aMemberIsRecordedThroughItsPinWhereverItsProcessIsAtThatMoment() throws IOException {
        FakeProc.container(proc, 4343, NET_RAW);
        Files.delete(proc.resolve("4343/ns/net"));
        Files.createSymbolicLink(proc.resolve("4343/ns/net"), Path.of("/proc/self/ns/uts")); // out, for now

        assertThat(enforcer.enforce(request(ID_B, 4343)).error().code()).isEqualTo("UNSAFE_CAPABILITIES");

        assertThat(enforcer.enforce(request(ID_A, 4242)).error().code()).isEqualTo("NAMESPACE_QUARANTINED");
    }

    @Test
    void aContainerQuarantinedByTheResyncOfItsMissingPolicyIsTheNamespacesQuarantinedMember() {
        // as the reconciler re-checks a container whose policy is gone (a runtime restart of it included)
        EnforcementResult recheck = enforcer.recheckQuarantine(ID_B, null, 4343, null, ErrorCode.POLICY_NOT_FOUND,
                "the policy of task t was deleted", true);
        assertThat(recheck.quarantined()).isTrue();
        assertThat(enforcer.enforce(request(ID_A, 4242)).error().code()).isEqualTo("NAMESPACE_QUARANTINED");

        enforcer.left(ID_B, shared);
        enforcer.recheckQuarantine(ID_INFRA, null, 4444, null, ErrorCode.POLICY_NOT_FOUND, "fenced", false);
        assertThat(enforcer.enforce(request(ID_A, 4242)).status()).as("a fence's re-check records nothing")
                .isEqualTo("applied");
    }

    @Test
    void aContainerKeptOutWhoseKeeperIsGoneByItsQuarantinesWriteTurnGetsItsPolicyInstead() throws IOException {
        FakeProc.container(proc, 4343, NET_RAW);
        assertThat(enforcer.enforce(request(ID_B, 4343)).error().code()).isEqualTo("UNSAFE_CAPABILITIES");
        java.util.concurrent.atomic.AtomicInteger pins = new java.util.concurrent.atomic.AtomicInteger();
        DefaultEnforcer racing = new DefaultEnforcer(EnforcerConfig.custom()
                .backend(dev.netfence.netns.BackendChoice.IPTABLES_NFT).backoff(Duration.ofMillis(1), Duration.ofMillis(5))
                .procRoot(proc).refuseCapabilities(Set.of("CAP_NET_RAW")).build(), fake, Clock.systemUTC(), registry,
                resolver, (pid, containerId, runtime, deadline) -> {
                    if (pid == 4242 && pins.incrementAndGet() == 2) {
                        goneQuietly(4343); // B exits between A's refused claim and A's quarantine
                    }
                    return new PinnedNamespace(pid, Path.of("/proc/1000/fd/9"), shared, () -> { });
                });
        racing.restoreQuarantined(ID_B, 4343, shared, "UNSAFE_CAPABILITIES");
        fake.calls.clear();

        EnforcementResult a = racing.enforce(request(ID_A, 4242));

        assertThat(a.status()).as("%s", a).isEqualTo("applied");
        assertThat(fake.restores()).extracting(Call::stdin).noneMatch(s -> s.contains(FakeFirewall.QUARANTINE_MARK));
    }

    @Test
    void withoutTimeLeftForItsPolicyAContainerWhoseKeeperWentIsQuarantinedAllTheSameAndKeepsNoOneOut()
            throws IOException {
        java.util.concurrent.atomic.AtomicInteger pins = new java.util.concurrent.atomic.AtomicInteger();
        DefaultEnforcer late = new DefaultEnforcer(EnforcerConfig.custom()
                .backend(dev.netfence.netns.BackendChoice.IPTABLES_NFT).backoff(Duration.ofSeconds(60), Duration.ofSeconds(60))
                .procRoot(proc).build(), fake, Clock.systemUTC(), registry, resolver,
                (pid, containerId, runtime, deadline) -> {
                    if (pid == 4242 && pins.incrementAndGet() == 2) {
                        goneQuietly(4343);
                    }
                    return new PinnedNamespace(pid, Path.of("/proc/1000/fd/9"), shared, () -> { });
                });
        late.restoreQuarantined(ID_B, 4343, shared, "UNSAFE_CAPABILITIES");

        EnforcementResult a = late.enforce(request(ID_A, 4242)); // 30 s left, less than the 60 s backoff base

        assertThat(a.error().code()).isEqualTo("NAMESPACE_QUARANTINED");
        assertThat(a.quarantined()).as("kept for the reconciler's retry: %s", a).isTrue();
        assertThat(a.target()).isNotNull();
        FakeProc.container(proc, 4444, FakeProc.PODMAN_DEFAULT_CAPS);
        assertThat(late.enforce(request(ID_INFRA, 4444)).status()).as("A is no member").isEqualTo("applied");
    }

    private void goneQuietly(int pid) {
        try {
            gone(pid);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private void gone(int pid) throws IOException {
        try (Stream<Path> files = Files.walk(proc.resolve(Integer.toString(pid)))) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
