package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.testkit.SteppingClock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An owner of a namespace whose own process has left it, read against a fake {@code /proc} and a
 * clock that can make the scan for its container's processes run out of its budget: kept as an
 * owner (another policy is still refused), but not counted as governing the namespace, whose inode
 * may belong to a new, empty namespace by now; an owner whose process is there, or whose
 * container's other process a completed scan finds there, governs it as before (a pod).
 */
class NamespaceOwnersTest {
    private static final String OWNER = "a".repeat(64);
    private static final String JOINER = "b".repeat(64);

    @TempDir
    Path proc;

    private final SteppingClock clock = new SteppingClock();

    @Test
    void anOwnerWhoseProcessIsGoneAndWhoseScanRanOutNoLongerGovernsTheNamespaceButStillRefusesAnotherPolicy()
            throws IOException {
        NamespaceId ns = process(4242, "0::/\n");
        process(5000, "0::/\n");
        NamespaceOwners owners = new NamespaceOwners(proc, task -> null, clock);
        owners.restore(ns, OWNER, "task-a", "digest-a", 4242);
        clock.stepOnEveryRead(Duration.ofSeconds(1)); // any scan runs out at its first process

        assertThat(owners.enforcedForAnother(ns, JOINER)).as("its process is there: no scan needed").isTrue();

        deleteProcess(4242); // the owner exited; its stop is not processed yet, and the inode may be reused

        assertThat(owners.enforcedForAnother(ns, JOINER))
                .as("a scan that ran out vouches for nothing: the OCI hook fences the joiner").isFalse();
        assertThatThrownBy(() -> owners.claim(new PinnedNamespace(5000, proc.resolve("5000/ns/net"), ns, () -> { }),
                JOINER, "task-b", "digest-b", null)).isInstanceOf(EnforcementException.class)
                .hasMessageContaining(OWNER).extracting(e -> ((EnforcementException) e).code())
                .as("its claim still holds: the joiner's other policy is refused, nothing written")
                .isEqualTo(ErrorCode.NAMESPACE_SHARED);
    }

    @Test
    void anOwnerWhoseProcessLeftButWhoseContainerACompletedScanFindsThereStillGovernsTheNamespace()
            throws IOException {
        NamespaceId ns = process(4242, "0::/\n");
        process(4243, "0::/machine.slice/libpod-" + OWNER + ".scope\n");
        NamespaceOwners owners = new NamespaceOwners(proc, task -> null, clock);
        owners.restore(ns, OWNER, "task-a", "digest-a", 4242);

        deleteProcess(4242);

        assertThat(owners.enforcedForAnother(ns, JOINER)).as("the scan completed and found its container there")
                .isTrue();
    }

    @Test
    void aRefusalSaysNoOwnerWasConfirmedOnlyWhereNoneWasAndTheClaimantOwnsNothingThere() throws IOException {
        NamespaceId ns = process(4242, "0::/\n");
        process(5000, "0::/\n");
        NamespaceOwners owners = new NamespaceOwners(proc, task -> null, clock);
        owners.restore(ns, OWNER, "task-a", "digest-a", 4242);
        deleteProcess(4242);
        clock.stepOnEveryRead(Duration.ofSeconds(1));
        PinnedNamespace joiner = new PinnedNamespace(5000, proc.resolve("5000/ns/net"), ns, () -> { });

        EnforcementException unconfirmed = refusal(owners, joiner, "digest-b");
        assertThat(UnconfirmedOwners.refused(unconfirmed)).as("the enforcer fences it").isTrue();

        owners.restore(ns, JOINER, "task-b", "digest-a", 5000); // its own rules were written there before
        assertThat(UnconfirmedOwners.refused(refusal(owners, joiner, "digest-b"))).as("its rules stay").isFalse();
    }

    private static EnforcementException refusal(NamespaceOwners owners, PinnedNamespace ns, String digest) {
        try {
            owners.claim(ns, JOINER, "task-b", digest, null);
        } catch (EnforcementException e) {
            assertThat(e.code()).isEqualTo(ErrorCode.NAMESPACE_SHARED);
            return e;
        }
        throw new AssertionError("not refused");
    }

    /** A process {@code pid} in this test's own network namespace, with the cgroup file {@code cgroup}. */
    private NamespaceId process(int pid, String cgroup) throws IOException {
        FakeProc.container(proc, pid, FakeProc.PODMAN_DEFAULT_CAPS);
        Files.writeString(proc.resolve(pid + "/cgroup"), cgroup);
        Files.createDirectories(proc.resolve(pid + "/ns"));
        Files.createSymbolicLink(proc.resolve(pid + "/ns/net"), Path.of("/proc/self/ns/net"));
        return NamespaceId.of(Path.of("/proc/self/ns/net"));
    }

    private void deleteProcess(int pid) throws IOException {
        try (var files = Files.walk(proc.resolve(Integer.toString(pid)))) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
