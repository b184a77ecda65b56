package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.core.ErrorCode;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.Sh;
import dev.netfence.testkit.TestCgroup;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A container with no usable policy and no {@code netns} in its event whose only process sits in
 * a user and network namespace of its own (a decoy with an interface) is quarantined there, as the
 * last fallback, fail closed; the resync's read-back finds that quarantine where it was written and
 * leaves it (before, the read-back refused the namespace NAMESPACE_MISMATCH and the next resync
 * wrote it again: a write and an outcome at every resync, helper 185 #4), and repairs it when the
 * workload flushes it.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class DecoyRecheckKernelTest {
    @Test
    void aQuarantineWrittenIntoTheDecoyOfAContainerWithoutAPolicyIsReadBackThereAndRepaired() throws Exception {
        byte[] bytes = new byte[32];
        ThreadLocalRandom.current().nextBytes(bytes);
        String id = HexFormat.of().formatHex(bytes);
        Process decoy = null;
        try (TestCgroup cgroup = TestCgroup.create("libpod-" + id)) {
            decoy = new ProcessBuilder("unshare", "-Urn", "sh", "-c",
                    "ip link add nfd0 type veth peer name nfd1 && echo up && exec sleep 600").start();
            cgroup.add(decoy.pid());
            assertThat(new java.io.BufferedReader(new java.io.InputStreamReader(decoy.getInputStream())).readLine())
                    .isEqualTo("up");
            int pid = (int) decoy.pid();
            long inode = NamespaceId.of(Path.of("/proc/" + pid + "/ns/net")).inode();
            DefaultEnforcer enforcer = new DefaultEnforcer(EnforcerConfig.custom().backend(BackendChoice.AUTO)
                    .cgroupCheck(true).backoff(Duration.ofMillis(10), Duration.ofMillis(50)).build(),
                    new ProcessCommandRunner(), Clock.systemUTC(), new SimpleMeterRegistry());

            EnforcementResult fenced = enforcer.failClosed(id, "podman", pid, null, ErrorCode.POLICY_NOT_FOUND, "none");
            assertThat(fenced.quarantined()).as("%s", fenced).isTrue();
            assertThat(fenced.target().netnsInode()).as("the decoy, its only namespace").isEqualTo(inode);

            String[] listing = {"nsenter", "-t", Integer.toString(pid), "-n", "nft", "-a", "list", "table", "inet",
                "netfence"};
            String written = Sh.ok(listing); // with the handles, which a rewrite of the table renews

            EnforcementResult again = enforcer.recheckQuarantine(id, "podman", pid, null, ErrorCode.POLICY_NOT_FOUND,
                    "none", true);
            assertThat(again.quarantined()).as("read back where it was written: %s", again).isTrue();
            assertThat(again.error().code()).isEqualTo("POLICY_NOT_FOUND");
            assertThat(again.drift()).as("no difference found").isNull();
            assertThat(Sh.ok(listing)).as("nothing rewritten: the same table, handles included").isEqualTo(written);

            Sh.ok("nsenter", "-t", Integer.toString(pid), "-n", "nft", "flush", "ruleset"); // as the workload could
            EnforcementResult repaired = enforcer.recheckQuarantine(id, "podman", pid, null, ErrorCode.POLICY_NOT_FOUND,
                    "none", true);
            assertThat(repaired.quarantined()).as("%s", repaired).isTrue();
            assertThat(repaired.drift()).as("the flush found and repaired").isNotNull();
            assertThat(Sh.run("nsenter", "-t", Integer.toString(pid), "-n", "nft", "list", "table", "inet", "netfence")
                    .ok()).isTrue();
        } finally {
            if (decoy != null) {
                decoy.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }
}
