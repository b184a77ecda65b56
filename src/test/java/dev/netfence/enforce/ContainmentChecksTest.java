package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.enforce.FakeFirewall.Call;
import dev.netfence.netns.EndpointResolver;
import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.NamespacePinner;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The containment checks between pinning and writing (issue 12 items 7, 8, 9, 10), against a
 * recording fake iptables and a fake /proc: risks reported and counted, refused capabilities
 * quarantined, a lo-only namespace refused, a namespace shared with a different policy refused
 * without a write, and an Error escaping the apply turned into INTERNAL_ERROR with a quarantine.
 */
class ContainmentChecksTest {
    private static final long NET_ADMIN_AND_RAW = FakeProc.PODMAN_DEFAULT_CAPS | (1L << 12) | (1L << 13);
    private static final String ID_A = "a".repeat(64);
    private static final String ID_B = "b".repeat(64);

    @TempDir
    Path proc;

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final NamespacePinner pinner = (pid, containerId, runtime, deadline) ->
            new PinnedNamespace(pid, Path.of("/proc/1000/fd/9"), new NamespaceId(4, 4026532000L), () -> { });
    private final EndpointResolver resolver = (host, timeout) -> List.of();

    @Test
    void risksAreReadFromEffectiveAndBoundingSetsReportedAndCountedButNotRefusedByDefault() {
        FakeProc.container(proc, 4242, NET_ADMIN_AND_RAW);

        EnforcementResult result = enforcer(config().build(), new FakeFirewall()).enforce(request(ID_A, 4242, policy(443)));

        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        assertThat(result.risks()).containsExactly("CAP_NET_ADMIN", "CAP_NET_RAW");
        assertThat(registry.get("netfence.risks").tag("risk", "CAP_NET_RAW").counter().count()).isEqualTo(1.0);
    }

    @Test
    void capabilitiesThatCannotBeReadAreRefusedLikeHeldOnesWhenRefusalsAreConfiguredEvenWhenOnFailureIsLeave()
            throws Exception {
        // a status whose Groups line (setgroups) pushes the capability sets past what is read
        FakeProc.container(proc, 4242, FakeProc.PODMAN_DEFAULT_CAPS | (1L << 13));
        java.nio.file.Path status = proc.resolve("4242/status");
        java.nio.file.Files.writeString(status, "Name:\tsleep\nGroups:\t" + "1000 ".repeat(14_000) + "\n"
                + java.nio.file.Files.readString(status).substring("Name:\tsleep\n".length()));
        FakeFirewall fake = new FakeFirewall();

        EnforcementResult refusing = enforcer(config().onFailure(OnFailure.LEAVE)
                .refuseCapabilities(Set.of("CAP_NET_RAW")).build(), fake).enforce(request(ID_A, 4242, policy(443)));
        EnforcementResult reporting = enforcer(config().onFailure(OnFailure.LEAVE).build(), new FakeFirewall())
                .enforce(request(ID_A, 4242, policy(443)));

        assertThat(refusing.error().code()).as("%s", refusing).isEqualTo("UNSAFE_CAPABILITIES");
        assertThat(refusing.error().message()).contains("cannot read the capabilities of pid 4242 (3 reads)");
        assertThat(refusing.quarantined()).isTrue();
        assertThat(fake.restores()).isNotEmpty().allMatch(c -> c.stdin().contains(FakeFirewall.QUARANTINE_MARK));
        assertThat(reporting.error().code()).as("no refusal asked for: as before").isEqualTo("FIREWALL_UNAVAILABLE");
        assertThat(reporting.quarantined()).isFalse();
    }

    @Test
    void aRefusedCapabilityFailsClosedWithUnsafeCapabilitiesEvenWhenOnFailureIsLeave() {
        FakeProc.container(proc, 4242, FakeProc.PODMAN_DEFAULT_CAPS | (1L << 13));
        FakeFirewall fake = new FakeFirewall();

        EnforcementResult result = enforcer(config().onFailure(OnFailure.LEAVE)
                .refuseCapabilities(Set.of("CAP_NET_RAW")).build(), fake).enforce(request(ID_A, 4242, policy(443)));

        assertThat(result.status()).isEqualTo("failed");
        assertThat(result.error().code()).isEqualTo("UNSAFE_CAPABILITIES");
        assertThat(result.error().message()).contains("CAP_NET_RAW");
        assertThat(result.risks()).containsExactly("CAP_NET_RAW");
        assertThat(result.quarantined()).isTrue();
        assertThat(fake.restores()).isNotEmpty().allMatch(c -> c.stdin().contains(FakeFirewall.QUARANTINE_MARK));
    }

    @Test
    void aNamespaceWithOnlyLoopbackIsRefusedWithoutANetnsButNotForModeNone() {
        FakeProc.process(proc, 4242, FakeProc.PODMAN_DEFAULT_CAPS, "lo");
        FakeFirewall fake = new FakeFirewall();

        EnforcementResult result = enforcer(config().build(), fake).enforce(request(ID_A, 4242, policy(443)));

        assertThat(result.error().code()).isEqualTo("NAMESPACE_MISMATCH");
        assertThat(result.error().message()).contains("namespace has no network interface");
        assertThat(result.quarantined()).isFalse();
        assertThat(fake.calls).isEmpty();

        NetworkPolicy none = new PolicyParser().parse("{\"schemaVersion\":1,\"mode\":\"none\"}".getBytes(StandardCharsets.UTF_8));
        assertThat(enforcer(config().build(), fake).enforce(request(ID_A, 4242, none)).status()).isEqualTo("applied");
    }

    @Test
    void aRefusalByACheckStillNamesTheRisksThoughNoRefusalWaitedForThem() {
        // without --refuse-capabilities the capabilities are read after the checks (or while a namespace
        // thread writes): a check that refuses first must not leave the outcome without them
        FakeProc.process(proc, 4242, NET_ADMIN_AND_RAW, "lo");

        EnforcementResult result = enforcer(config().build(), new FakeFirewall()).enforce(request(ID_A, 4242, policy(443)));

        assertThat(result.error().code()).isEqualTo("NAMESPACE_MISMATCH");
        assertThat(result.risks()).containsExactly("CAP_NET_ADMIN", "CAP_NET_RAW");
    }

    @Test
    void theRisksAreReadAtOnceWhereARefusalOrOnFailureLeaveDependsOnThemElseWhenTheWriteRunsTheRead() {
        // read after a commit, a failed read would quarantine the container, which leave promises not to do
        FakeProc.container(proc, 4242, NET_ADMIN_AND_RAW);
        PinnedNamespace ns = pinner.pin(4242, ID_A, null, Instant.now().plusSeconds(30));
        EnforcementRequest request = request(ID_A, 4242, policy(443));
        java.util.Map<String, EnforcerConfig> configs = new java.util.LinkedHashMap<>();
        configs.put("default", config().build());
        configs.put("leave", config().onFailure(OnFailure.LEAVE).build());
        configs.put("refusing", config().refuseCapabilities(Set.of("CAP_NET_RAW")).build());
        java.util.Map<String, List<String>> readAtOnce = new java.util.LinkedHashMap<>();
        for (java.util.Map.Entry<String, EnforcerConfig> c : configs.entrySet()) {
            ContainmentChecks checks = new ContainmentChecks(c.getValue(), registry, true,
                    new dev.netfence.netns.ContainerCapabilities(proc));
            java.util.concurrent.atomic.AtomicReference<List<String>> into =
                    new java.util.concurrent.atomic.AtomicReference<>(List.of());
            ContainmentChecks.RiskRead read = checks.riskRead(request, ns, into);
            readAtOnce.put(c.getKey(), into.get());
            read.run();
            assertThat(into.get()).as(c.getKey()).containsExactly("CAP_NET_ADMIN", "CAP_NET_RAW");
        }

        assertThat(readAtOnce).containsExactly(java.util.Map.entry("default", List.of()),
                java.util.Map.entry("leave", List.of("CAP_NET_ADMIN", "CAP_NET_RAW")),
                java.util.Map.entry("refusing", List.of("CAP_NET_ADMIN", "CAP_NET_RAW")));
    }

    @Test
    void aSecondContainerWithAnotherPolicyInAnOwnedNamespaceIsRefusedAndNothingIsWrittenTheSamePolicyIsApplied()
            throws Exception {
        NamespaceId own = containerInThisNamespace();
        NamespacePinner here = pinnedTo(own);
        FakeFirewall fake = new FakeFirewall();
        DefaultEnforcer enforcer = new DefaultEnforcer(config().build(), fake, Clock.systemUTC(), registry, resolver, here);
        int self = 4242;

        assertThat(enforcer.enforce(request(ID_A, (int) self, policy(443))).status()).isEqualTo("applied");
        fake.calls.clear();

        EnforcementResult b = enforcer.enforce(request(ID_B, (int) self, policy(80)));

        assertThat(b.status()).isEqualTo("failed");
        assertThat(b.error().code()).isEqualTo("NAMESPACE_SHARED");
        assertThat(b.error().message()).contains(ID_A).contains(ID_B);
        assertThat(b.quarantined()).isFalse();
        assertThat(b.target()).as("where it was refused, for the reconciler to track it")
                .isEqualTo(new dev.netfence.core.EnforcementTarget(self, own.device(), own.inode()));
        assertThat(fake.calls).as("nothing written for the refused container").isEmpty();

        assertThat(enforcer.enforce(request(ID_B, (int) self, policy(443))).status()).as("same policy").isEqualTo("applied");
        assertThat(enforcer.enforce(request(ID_A, (int) self, policy(443))).status()).isEqualTo("applied");
    }

    @Test
    void afterARestartAnOwnerRestoredFromTheLiveSetStillRefusesAContainerWithAnotherPolicy() throws Exception {
        NamespaceId own = containerInThisNamespace();
        NamespacePinner here = pinnedTo(own);
        FakeFirewall fake = new FakeFirewall();
        // a new enforcer, as after a restart: it has applied nothing yet
        DefaultEnforcer restarted = new DefaultEnforcer(config().build(), fake, Clock.systemUTC(), registry, resolver,
                here);
        restarted.restoreNamespaceOwner(ID_A, "task-a", 4242, own, dev.netfence.policy.PolicyDigest.of(policy(443)));

        EnforcementResult b = restarted.enforce(request(ID_B, 4242, policy(80)));

        assertThat(b.error()).isNotNull();
        assertThat(b.error().code()).isEqualTo("NAMESPACE_SHARED");
        assertThat(b.error().message()).contains(ID_A);
        assertThat(fake.calls).as("nothing written for the refused container").isEmpty();
        assertThat(restarted.enforce(request(ID_B, 4242, policy(443))).status()).as("same policy").isEqualTo("applied");
    }

    @Test
    void twoMembersOfOneTaskNeverRefuseEachOtherWhileAPolicyUpdateReachesOneFirst() throws Exception {
        NamespaceId own = containerInThisNamespace();
        NamespacePinner here = pinnedTo(own);
        DefaultEnforcer restarted = new DefaultEnforcer(config().build(), new FakeFirewall(), Clock.systemUTC(),
                registry, resolver, here);
        // a pod of task-a, both members recorded with the old policy before a restart
        String old = dev.netfence.policy.PolicyDigest.of(policy(443));
        restarted.restoreNamespaceOwner(ID_A, "task-a", 4242, own, old);
        restarted.restoreNamespaceOwner(ID_B, "task-a", 4242, own, old);

        // the task's policy changed: each member in turn gets it, neither refused for the other's old digest
        assertThat(restarted.enforce(taskRequest(ID_A, "task-a", policy(80))).status()).isEqualTo("applied");
        assertThat(restarted.enforce(taskRequest(ID_B, "task-a", policy(80))).status()).isEqualTo("applied");

        // a container of another task with another policy is still refused, as is one of no known task
        EnforcementResult other = restarted.enforce(taskRequest("c".repeat(64), "task-c", policy(22)));
        assertThat(other.error()).isNotNull();
        assertThat(other.error().code()).isEqualTo("NAMESPACE_SHARED");
        assertThat(restarted.enforce(request("d".repeat(64), 4242, policy(22))).error().code())
                .isEqualTo("NAMESPACE_SHARED");
    }

    @Test
    void membersOfTwoTasksWithEqualPoliciesTakeAnUpdateOfBothOneAfterTheOther() throws Exception {
        NamespaceId own = containerInThisNamespace();
        NamespacePinner here = pinnedTo(own);
        // the store: task-a and task-b both updated from 443 to 80; task-c still on 443
        Map<String, NetworkPolicy> store = new java.util.HashMap<>(Map.of("task-a", policy(80), "task-b", policy(80),
                "task-c", policy(443)));
        DefaultEnforcer restarted = new DefaultEnforcer(config().taskPolicies(t -> Optional.ofNullable(store.get(t)))
                .build(), new FakeFirewall(), Clock.systemUTC(), registry, resolver, here);
        String old = dev.netfence.policy.PolicyDigest.of(policy(443));
        restarted.restoreNamespaceOwner(ID_A, "task-a", 4242, own, old);
        restarted.restoreNamespaceOwner(ID_B, "task-b", 4242, own, old);
        restarted.restoreNamespaceOwner("c".repeat(64), "task-c", 4242, own, old);

        // task-c's member still holds the old policy, and its task's current policy is the old one too
        EnforcementResult refused = restarted.enforce(taskRequest(ID_A, "task-a", policy(80)));
        assertThat(refused.error()).isNotNull();
        assertThat(refused.error().code()).isEqualTo("NAMESPACE_SHARED");
        assertThat(refused.error().message()).contains("c".repeat(64));

        // task-c's policy is updated as well: every member takes the new one in turn, none refused
        store.put("task-c", policy(80));
        assertThat(restarted.enforce(taskRequest(ID_A, "task-a", policy(80))).status()).isEqualTo("applied");
        assertThat(restarted.enforce(taskRequest(ID_B, "task-b", policy(80))).status()).isEqualTo("applied");

        // a member whose task's current policy is something else again is still refused
        store.put("task-b", policy(22));
        EnforcementResult stale = restarted.enforce(taskRequest("c".repeat(64), "task-c", policy(8080)));
        assertThat(stale.error()).isNotNull();
        assertThat(stale.error().code()).isEqualTo("NAMESPACE_SHARED");
    }

    @Test
    void anOwnerWhosePidLeftTheNamespaceIsNotRestored() throws Exception {
        NamespaceId own = containerInThisNamespace();
        NamespacePinner here = pinnedTo(own);
        DefaultEnforcer restarted = new DefaultEnforcer(config().build(), new FakeFirewall(), Clock.systemUTC(),
                registry, resolver, here);
        // recorded in another namespace (the container died, its namespace inode is gone)
        restarted.restoreNamespaceOwner(ID_A, "task-a", 4242, new NamespaceId(own.device(), own.inode() + 1),
                dev.netfence.policy.PolicyDigest.of(policy(443)));

        assertThat(restarted.enforce(request(ID_B, 4242, policy(80))).status()).isEqualTo("applied");
    }

    @Test
    void aProcessNameThatIsNotUtf8AndLooksLikeFieldsNeitherFailsTheApplyNorHidesTheNamespaceOwner() throws Exception {
        // the workload names itself (prctl PR_SET_NAME): status and stat carry those bytes as they are
        FakeProc.container(proc, 4242, NET_ADMIN_AND_RAW);
        byte[] name = {'x', (byte) 0xff, ')', ' ', '1', ' ', '2'};
        renameIn(proc.resolve("4242/status"), name);
        renameIn(proc.resolve("4242/stat"), name);
        Files.createDirectories(proc.resolve("4242/ns"));
        Files.createSymbolicLink(proc.resolve("4242/ns/net"), Path.of("/proc/self/ns/net"));
        NamespaceId own = NamespaceId.of(Path.of("/proc/self/ns/net"));
        NamespacePinner here = (pid, containerId, runtime, deadline) ->
                new PinnedNamespace(pid, Path.of("/proc/1000/fd/9"), own, () -> { });
        DefaultEnforcer enforcer = new DefaultEnforcer(config().build(), new FakeFirewall(), Clock.systemUTC(), registry,
                resolver, here);

        EnforcementResult a = enforcer.enforce(request(ID_A, 4242, policy(443)));
        EnforcementResult b = enforcer.enforce(request(ID_B, 4242, policy(80)));

        assertThat(a.status()).as("%s", a).isEqualTo("applied");
        assertThat(a.risks()).containsExactly("CAP_NET_ADMIN", "CAP_NET_RAW");
        assertThat(b.error()).as("A's ownership was recorded from its stat").isNotNull();
        assertThat(b.error().code()).isEqualTo("NAMESPACE_SHARED");
    }

    /** Replaces the fake process's name ({@code sleep}) in a /proc file with {@code name}'s bytes. */
    private static void renameIn(Path file, byte[] name) throws java.io.IOException {
        String text = Files.readString(file, StandardCharsets.ISO_8859_1);
        Files.write(file, text.replace("sleep", new String(name, StandardCharsets.ISO_8859_1))
                .getBytes(StandardCharsets.ISO_8859_1));
    }

    @Test
    void anErrorEscapingTheApplyIsInternalErrorAndTheContainerIsQuarantined() {
        FakeProc.container(proc, 4242, FakeProc.PODMAN_DEFAULT_CAPS);
        FakeFirewall fake = new FakeFirewall();
        EndpointResolver broken = (host, timeout) -> {
            throw new StackOverflowError("resolver recursed");
        };
        DefaultEnforcer enforcer = new DefaultEnforcer(config().build(), fake, Clock.systemUTC(), registry, broken, pinner);
        NetworkPolicy withHostname = new PolicyParser().parse(("{\"schemaVersion\":1,\"mode\":\"bridge\","
                + "\"allowedEndpoints\":[\"pypi.internal:443\"],\"dns\":false,\"outbound\":false,\"inbound\":false}")
                .getBytes(StandardCharsets.UTF_8));

        EnforcementResult result = enforcer.enforce(request(ID_A, 4242, withHostname));

        assertThat(result.status()).isEqualTo("failed");
        assertThat(result.error().code()).isEqualTo("INTERNAL_ERROR");
        assertThat(result.error().message()).contains("StackOverflowError").contains("resolver recursed");
        assertThat(result.quarantined()).isTrue();
        assertThat(fake.restores()).extracting(Call::stdin).isNotEmpty().allMatch(s -> s.contains(FakeFirewall.QUARANTINE_MARK));
    }

    private EnforcerConfig.Builder config() {
        return EnforcerConfig.custom().backend(dev.netfence.netns.BackendChoice.IPTABLES_NFT)
                .backoff(Duration.ofMillis(1), Duration.ofMillis(5)).procRoot(proc);
    }

    private DefaultEnforcer enforcer(EnforcerConfig config, FakeFirewall fake) {
        return new DefaultEnforcer(config, fake, Clock.systemUTC(), registry, resolver, pinner);
    }

    /**
     * Container pid 4242 with podman's default capabilities, living in this JVM's network
     * namespace (an owner counts while its process lives in the namespace); that namespace's id.
     */
    private NamespaceId containerInThisNamespace() throws java.io.IOException {
        FakeProc.container(proc, 4242, FakeProc.PODMAN_DEFAULT_CAPS);
        Files.createDirectories(proc.resolve("4242/ns"));
        Files.createSymbolicLink(proc.resolve("4242/ns/net"), Path.of("/proc/self/ns/net"));
        return NamespaceId.of(Path.of("/proc/self/ns/net"));
    }

    /** A pinner that pins every pid in namespace {@code own}. */
    private static NamespacePinner pinnedTo(NamespaceId own) {
        return (pid, containerId, runtime, deadline) -> new PinnedNamespace(pid, Path.of("/proc/1000/fd/9"), own, () -> { });
    }

    private static EnforcementRequest taskRequest(String containerId, String taskId, NetworkPolicy policy) {
        return new EnforcementRequest(containerId, null, 4242, null, policy, Instant.now().plusSeconds(30), taskId);
    }

    private static EnforcementRequest request(String containerId, int pid, NetworkPolicy policy) {
        return new EnforcementRequest(containerId, null, pid, policy, Instant.now().plusSeconds(30));
    }

    private static NetworkPolicy policy(int port) {
        return new PolicyParser().parse(("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.51.100.7:"
                + port + "\"],\"dns\":false,\"outbound\":false,\"inbound\":false}").getBytes(StandardCharsets.UTF_8));
    }
}
