package dev.netfence.enforce;

import static dev.netfence.enforce.TestRequests.request;
import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.netns.EndpointResolver;
import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.PinnedNamespace;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pod's members share one namespace and so one set of rules ({@link MemberReads}): what one
 * member can do to them (CAP_NET_ADMIN flushes them) is in every member's outcome while that
 * member is there, whether it came with an event or the OCI hook let it join, and
 * {@code --refuse-capabilities} refuses the pod's policy while it is there. Against a recording
 * fake iptables and a fake /proc whose pids live in this JVM's namespace.
 */
class PodMemberRisksTest {
    private static final long NET_ADMIN = FakeProc.PODMAN_DEFAULT_CAPS | (1L << 12);
    private static final String ID_A = "a".repeat(64);
    private static final String ID_B = "b".repeat(64);
    private static final int PID_A = 4242;
    private static final int PID_B = 4343;

    @TempDir
    Path proc;

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final EndpointResolver resolver = (host, timeout) -> List.of();

    @Test
    void aMembersRiskIsInTheOtherMembersOutcomeWithAWarningNamingItWhileItIsThere() throws Exception {
        NamespaceId pod = member(PID_A, FakeProc.PODMAN_DEFAULT_CAPS);
        member(PID_B, NET_ADMIN);
        DefaultEnforcer enforcer = enforcer(config().build(), pod);

        assertThat(enforcer.enforce(request(ID_A, PID_A)).risks()).as("alone").isEmpty();
        EnforcementResult b = enforcer.enforce(request(ID_B, PID_B));
        assertThat(b.risks()).containsExactly("CAP_NET_ADMIN");
        assertThat(b.warnings()).as("its own risk is no other member's").isEmpty();

        EnforcementResult a = enforcer.enforce(request(ID_A, PID_A));
        assertThat(a.status()).isEqualTo("applied");
        assertThat(a.risks()).containsExactly("CAP_NET_ADMIN");
        assertThat(a.warnings()).containsExactly(EnforcementResults.sharedRiskWarning("CAP_NET_ADMIN", ID_B));

        enforcer.left(ID_B, pod);
        assertThat(enforcer.enforce(request(ID_A, PID_A)).risks()).as("B left the pod").isEmpty();
    }

    @Test
    void aMemberTheHookLetJoinCountsFromItsReadAndNoLongerOnceItsProcessIsGone() throws Exception {
        NamespaceId pod = member(PID_A, FakeProc.PODMAN_DEFAULT_CAPS);
        member(PID_B, NET_ADMIN);
        DefaultEnforcer enforcer = enforcer(config().build(), pod);
        assertThat(enforcer.enforce(request(ID_A, PID_A)).risks()).isEmpty();

        enforcer.joined(ID_B, PID_B, pod); // the resync's read of a member without an event of its own

        EnforcementResult a = enforcer.enforce(request(ID_A, PID_A));
        assertThat(a.risks()).containsExactly("CAP_NET_ADMIN");
        assertThat(a.warnings()).containsExactly(EnforcementResults.sharedRiskWarning("CAP_NET_ADMIN", ID_B));

        deleteRecursively(proc.resolve(Integer.toString(PID_B))); // its process exited
        assertThat(enforcer.enforce(request(ID_A, PID_A)).risks()).isEmpty();
    }

    @Test
    void aMemberHoldingARefusedCapabilityKeepsThePodsPolicyRefusedAndQuarantinedUntilItLeaves() throws Exception {
        NamespaceId pod = member(PID_A, FakeProc.PODMAN_DEFAULT_CAPS);
        member(PID_B, NET_ADMIN);
        FakeFirewall fake = new FakeFirewall();
        DefaultEnforcer enforcer = new DefaultEnforcer(config().refuseCapabilities(Set.of("CAP_NET_ADMIN")).build(),
                fake, Clock.systemUTC(), registry, resolver, pinnedTo(pod));
        assertThat(enforcer.enforce(request(ID_A, PID_A)).status()).isEqualTo("applied");

        enforcer.joined(ID_B, PID_B, pod);
        fake.calls.clear();
        EnforcementResult refused = enforcer.enforce(request(ID_A, PID_A));

        assertThat(refused.status()).isEqualTo("failed");
        assertThat(refused.error().code()).isEqualTo("UNSAFE_CAPABILITIES");
        assertThat(refused.error().message()).contains("container " + ID_B).contains("CAP_NET_ADMIN")
                .contains("--refuse-capabilities");
        assertThat(refused.quarantined()).isTrue();
        assertThat(fake.restores()).isNotEmpty().allMatch(c -> c.stdin().contains(FakeFirewall.QUARANTINE_MARK));

        enforcer.left(ID_B, pod);
        EnforcementResult again = enforcer.enforce(request(ID_A, PID_A));
        assertThat(again.status()).as("%s", again).isEqualTo("applied");
        assertThat(again.risks()).isEmpty();
    }

    @Test
    void aMembersRefusedCapabilityReadWhileTheOthersPolicyIsWrittenRefusesItThereNotOnlyAtTheNextResync()
            throws Exception {
        NamespaceId pod = member(PID_A, FakeProc.PODMAN_DEFAULT_CAPS);
        member(PID_B, NET_ADMIN);
        FakeFirewall fake = new FakeFirewall();
        DefaultEnforcer enforcer = new DefaultEnforcer(config().refuseCapabilities(Set.of("CAP_NET_ADMIN")).build(),
                fake, Clock.systemUTC(), registry, resolver, pinnedTo(pod));
        java.util.concurrent.atomic.AtomicBoolean once = new java.util.concurrent.atomic.AtomicBoolean();
        fake.failing(call -> { // B's read at a resync lands while A's rules are being written
            if (once.compareAndSet(false, true)) {
                enforcer.joined(ID_B, PID_B, pod);
            }
            return null;
        });

        EnforcementResult a = enforcer.enforce(request(ID_A, PID_A));

        assertThat(a.status()).as("never applied saying a refused risk: %s", a).isEqualTo("failed");
        assertThat(a.error().code()).isEqualTo("UNSAFE_CAPABILITIES");
        assertThat(a.error().message()).contains("container " + ID_B);
        assertThat(a.quarantined()).isTrue();
    }

    @Test
    void thePodsPolicyIsAppliedAgainOnceTheMemberHoldingTheRefusedCapabilityHasDroppedIt() throws Exception {
        NamespaceId pod = member(PID_A, FakeProc.PODMAN_DEFAULT_CAPS);
        member(PID_B, NET_ADMIN);
        DefaultEnforcer enforcer = enforcer(config().refuseCapabilities(Set.of("CAP_NET_ADMIN")).build(), pod);
        enforcer.joined(ID_B, PID_B, pod);
        assertThat(enforcer.enforce(request(ID_A, PID_A)).error().code()).isEqualTo("UNSAFE_CAPABILITIES");

        FakeProc.container(proc, PID_B, FakeProc.PODMAN_DEFAULT_CAPS); // B dropped CAP_NET_ADMIN from every set
        enforcer.joined(ID_B, PID_B, pod); // the next resync's read

        EnforcementResult a = enforcer.enforce(request(ID_A, PID_A));
        assertThat(a.status()).as("%s", a).isEqualTo("applied");
        assertThat(a.risks()).isEmpty();
    }

    @Test
    void aMemberWhoseCapabilitiesCannotBeReadCountsAsHoldingEveryRisk() throws Exception {
        NamespaceId pod = member(PID_A, FakeProc.PODMAN_DEFAULT_CAPS);
        member(PID_B, FakeProc.PODMAN_DEFAULT_CAPS);
        Path status = proc.resolve(PID_B + "/status"); // a Groups line that pushes the sets past what is read
        Files.writeString(status, "Name:\tsleep\nGroups:\t" + "1000 ".repeat(14_000) + "\n"
                + Files.readString(status).substring("Name:\tsleep\n".length()));
        DefaultEnforcer enforcer = enforcer(config().build(), pod);

        enforcer.joined(ID_B, PID_B, pod);

        assertThat(enforcer.enforce(request(ID_A, PID_A)).risks()).containsExactly("CAP_NET_ADMIN", "CAP_NET_RAW", "NO_SECCOMP");
    }

    /** Pid {@code pid} with {@code caps}, living in this JVM's network namespace; that namespace's id. */
    private NamespaceId member(int pid, long caps) {
        return FakeProc.inThisNamespace(proc, pid, caps);
    }

    private static void deleteRecursively(Path dir) throws java.io.IOException {
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    private EnforcerConfig.Builder config() {
        return EnforcerConfig.custom().backend(dev.netfence.netns.BackendChoice.IPTABLES_NFT)
                .backoff(Duration.ofMillis(1), Duration.ofMillis(5)).procRoot(proc);
    }

    private DefaultEnforcer enforcer(EnforcerConfig config, NamespaceId pod) {
        return new DefaultEnforcer(config, new FakeFirewall(), Clock.systemUTC(), registry, resolver, pinnedTo(pod));
    }

    private static dev.netfence.netns.NamespacePinner pinnedTo(NamespaceId own) {
        return (pid, containerId, runtime, deadline) -> new PinnedNamespace(pid, Path.of("/proc/1000/fd/9"), own, () -> { });
    }

}
