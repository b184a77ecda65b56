package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.enforce.FakeFirewall.Call;
import dev.netfence.hostguard.HostGuardMode;
import dev.netfence.hostguard.HostGuards;
import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
import dev.netfence.testkit.SteppingClock;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A container refused NAMESPACE_SHARED in a namespace whose only owner's process has left it and
 * whose scan for that owner's container ran out (the inode may be a new, empty namespace's, events
 * only, no OCI hook) gets the OCI hook's fence instead of no rules, reported quarantined, and is
 * no quarantined member: the owner, once found alive, writes its own policy over the fence at its
 * resync, and from then on the container is refused with nothing written, as under any confirmed
 * owner. Against a recording fake iptables, a fake /proc whose processes all live in this JVM's
 * namespace, and a scan clock that can make every scan run out.
 */
class UnconfirmedOwnerFenceTest {
    private static final String ID_A = "a".repeat(64);
    private static final String ID_B = "b".repeat(64);

    @TempDir
    Path proc;

    private final FakeFirewall fake = new FakeFirewall();
    private final SteppingClock scans = new SteppingClock();
    private NamespaceId shared;
    private DefaultEnforcer enforcer;

    @BeforeEach
    void aNamespaceSharedByTwoProcesses() throws IOException {
        shared = NamespaceId.of(Path.of("/proc/self/ns/net"));
        for (int pid : new int[] {4242, 4343}) {
            process(pid);
        }
        enforcer = enforcer(OnFailure.QUARANTINE);
    }

    /** An enforcer over the fake iptables and /proc, every apply pinned to the shared namespace. */
    private DefaultEnforcer enforcer(OnFailure onFailure) {
        return new DefaultEnforcer(EnforcerConfig.custom().backend(dev.netfence.netns.BackendChoice.IPTABLES_NFT)
                .onFailure(onFailure).backoff(Duration.ofMillis(1), Duration.ofMillis(5)).procRoot(proc).build(), fake,
                Clock.systemUTC(), new SimpleMeterRegistry(), (host, timeout) -> List.of(),
                (pid, containerId, runtime, deadline) -> new PinnedNamespace(pid, Path.of("/proc/1000/fd/9"), shared,
                        () -> { }), HostGuards.create(HostGuardMode.OFF, fake), true, scans);
    }

    @Test
    void aContainerRefusedOnlyByAnOwnerNoScanCouldConfirmIsFencedAndReportedQuarantinedButKeepsNoOwnerOut()
            throws IOException {
        assertThat(enforcer.enforce(request(ID_A, "task-a", 4242, "198.51.100.7:443")).status()).isEqualTo("applied");
        gone(4242); // A's recorded process left; its stop is not processed yet, and the inode may be reused
        scans.stepOnEveryRead(Duration.ofSeconds(1)); // any scan for A's processes runs out
        fake.calls.clear();

        EnforcementResult b = enforcer.enforce(request(ID_B, "task-b", 4343, "203.0.113.9:443"));

        assertThat(b.error().code()).isEqualTo("NAMESPACE_SHARED");
        assertThat(b.quarantined()).as("the hook's fence is in force: %s", b).isTrue();
        assertThat(b.target()).isNotNull();
        assertThat(fake.restores()).extracting(Call::stdin).as("only the fence is written").isNotEmpty()
                .allMatch(s -> s.contains(FakeFirewall.QUARANTINE_MARK));
        assertThat(enforcer.enforce(request(ID_B, "task-b", 4343, "203.0.113.9:443")).quarantined())
                .as("re-asserted at B's retry").isTrue();

        // A turns out alive (its process back in the namespace): its resync finds the fence and writes its own policy
        process(4242);
        scans.stepOnEveryRead(Duration.ZERO);
        assertThat(enforcer.reconcile(request(ID_A, "task-a", 4242, "198.51.100.7:443"), shared).status())
                .as("B is no quarantined member").isEqualTo("applied");
        fake.calls.clear();

        EnforcementResult again = enforcer.enforce(request(ID_B, "task-b", 4343, "203.0.113.9:443"));
        refusedWithNothingWritten(again); // a confirmed owner
    }

    @Test
    void aContainerRefusedByAnOwnerWhoseProcessIsThereHasNothingWrittenWhateverTheScanClock() {
        assertThat(enforcer.enforce(request(ID_A, "task-a", 4242, "198.51.100.7:443")).status()).isEqualTo("applied");
        scans.stepOnEveryRead(Duration.ofSeconds(1));
        fake.calls.clear();

        EnforcementResult b = enforcer.enforce(request(ID_B, "task-b", 4343, "203.0.113.9:443"));

        refusedWithNothingWritten(b);
    }

    @Test
    void withOnFailureLeaveARefusalByAnUnconfirmedOwnerWritesNothingAsAnyFailureThere() throws IOException {
        DefaultEnforcer leaving = enforcer(OnFailure.LEAVE);
        assertThat(leaving.enforce(request(ID_A, "task-a", 4242, "198.51.100.7:443")).status()).isEqualTo("applied");
        gone(4242);
        scans.stepOnEveryRead(Duration.ofSeconds(1));
        fake.calls.clear();

        EnforcementResult b = leaving.enforce(request(ID_B, "task-b", 4343, "203.0.113.9:443"));

        refusedWithNothingWritten(b);
    }

    /** Refused NAMESPACE_SHARED, not quarantined, and nothing written since the last {@code fake.calls.clear()}. */
    private void refusedWithNothingWritten(EnforcementResult r) {
        assertThat(r.error().code()).as("%s", r).isEqualTo("NAMESPACE_SHARED");
        assertThat(r.quarantined()).as("%s", r).isFalse();
        assertThat(fake.restores()).isEmpty();
    }

    private void process(int pid) throws IOException {
        FakeProc.container(proc, pid, FakeProc.PODMAN_DEFAULT_CAPS);
        Files.createDirectories(proc.resolve(pid + "/ns"));
        Files.createSymbolicLink(proc.resolve(pid + "/ns/net"), Path.of("/proc/self/ns/net"));
    }

    private void gone(int pid) throws IOException {
        try (Stream<Path> files = Files.walk(proc.resolve(Integer.toString(pid)))) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    private static EnforcementRequest request(String containerId, String task, int pid, String endpoint) {
        return new EnforcementRequest(containerId, null, pid, null, policy(endpoint), Instant.now().plusSeconds(30),
                task);
    }

    private static NetworkPolicy policy(String endpoint) {
        return new PolicyParser().parse(("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"" + endpoint
                + "\"],\"dns\":false,\"outbound\":false,\"inbound\":false}").getBytes(StandardCharsets.UTF_8));
    }
}
