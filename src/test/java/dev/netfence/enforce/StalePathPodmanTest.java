package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.core.ErrorCode;
import dev.netfence.netns.NamespaceId;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import dev.netfence.testkit.Sh;
import dev.netfence.testkit.Streams;
import java.nio.file.Path;
import java.time.Clock;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An event whose runtime's path ({@code netns}) is stale: it names a namespace no process is in
 * (one a runtime's teardown left under {@code /run/netns}), while the container's pid is in the
 * namespace its runtime made. The container is quarantined where its pid is, and that is the
 * namespace reported; before, the empty namespace was quarantined and reported
 * ({@code quarantined: true}) while the container's own stayed open (helper 185 #1), with a
 * policy and without one.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class StalePathPodmanTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    private static final int HTTP = 8080;

    @ParameterizedTest(name = "with a policy: {0}")
    @ValueSource(booleans = {true, false})
    void aContainerWhoseEventNamesAStaleEmptyNamespaceIsQuarantinedWhereItsPidIs(boolean policy) throws Exception {
        PodmanContainer peer = PODMAN.peer(HTTP);
        PodmanContainer sandbox = PODMAN.sandbox();
        String name = "nf-stale-" + Long.toHexString(System.nanoTime());
        Sh.ok("ip", "netns", "add", name);
        try {
            Path stale = Path.of("/run/netns", name);
            long own = NamespaceId.of(Path.of("/proc/" + sandbox.pid() + "/ns/net")).inode();
            assertThat(DecoyProbes.reaches(sandbox.pid(), peer, HTTP)).as("open before").isTrue();
            DefaultEnforcer enforcer = enforcer();

            EnforcementResult result = policy
                    ? enforcer.enforce(new EnforcementRequest(sandbox.id(), "podman", sandbox.pid(), stale,
                            Streams.allowingOnly(peer.ipv4(), HTTP + "/tcp"), Clock.systemUTC().instant().plusSeconds(30)))
                    : enforcer.failClosed(sandbox.id(), "podman", sandbox.pid(), stale, ErrorCode.POLICY_NOT_FOUND,
                            "no policy for task t-1");

            assertThat(result.error()).as("%s", result).isNotNull();
            assertThat(result.error().code()).isEqualTo(policy ? "NAMESPACE_MISMATCH" : "POLICY_NOT_FOUND");
            assertThat(result.quarantined()).as("%s", result).isTrue();
            assertThat(result.target().netnsInode()).as("the container's own namespace is the one reported")
                    .isEqualTo(own);
            assertThat(DecoyProbes.reaches(sandbox.pid(), peer, HTTP)).as("the container reaches nothing").isFalse();
        } finally {
            Sh.run("ip", "netns", "delete", name);
        }
    }

    /**
     * A pod member without a policy whose event names a stale path quarantines the pod's namespace,
     * as its failure does without the path (helper 187: left to the other member's policy, it was
     * reported quarantined by the stale path's namespace while its traffic went out under that policy).
     */
    @org.junit.jupiter.api.Test
    void aPodMemberWithoutAPolicyWhoseEventNamesAStalePathQuarantinesThePodsNamespaceAsWithoutThePath()
            throws Exception {
        PodmanContainer peer = PODMAN.peer(HTTP);
        PodmanContainer owner = PODMAN.sandbox();
        PodmanContainer member = PODMAN.start("member", java.util.List.of("--network", "container:" + owner.name()),
                "/bin/sleep", "3600");
        DefaultEnforcer enforcer = enforcer();
        assertThat(enforcer.enforce(new EnforcementRequest(owner.id(), "podman", owner.pid(), owner.sandboxKey(),
                Streams.allowingOnly(peer.ipv4(), HTTP + "/tcp"), Clock.systemUTC().instant().plusSeconds(30))).status())
                .isEqualTo("applied");
        assertThat(DecoyProbes.reaches(member.pid(), peer, HTTP)).as("the pod under the owner's policy").isTrue();
        String name = "nf-stale-" + Long.toHexString(System.nanoTime());
        Sh.ok("ip", "netns", "add", name);
        try {
            EnforcementResult result = enforcer.failClosed(member.id(), "podman", member.pid(),
                    Path.of("/run/netns", name), ErrorCode.POLICY_NOT_FOUND, "no policy for task t-2");

            assertThat(result.quarantined()).as("%s", result).isTrue();
            assertThat(result.target().netnsInode()).as("the pod's namespace is the one reported")
                    .isEqualTo(NamespaceId.of(owner.sandboxKey()).inode());
            assertThat(DecoyProbes.reaches(member.pid(), peer, HTTP)).as("the pod reaches nothing").isFalse();
        } finally {
            Sh.run("ip", "netns", "delete", name);
        }
    }

    /**
     * With the cgroup check off nothing proves the pid is the container's (a stale or reused pid): its
     * namespace is not written in the container's name (helper 186 #3); the failure is reported with
     * nothing quarantined.
     */
    @org.junit.jupiter.api.Test
    void withTheCgroupCheckOffThePidsNamespaceIsNotQuarantinedBesideAStalePath() throws Exception {
        PodmanContainer sandbox = PODMAN.sandbox();
        String name = "nf-stale-" + Long.toHexString(System.nanoTime());
        Sh.ok("ip", "netns", "add", name);
        try {
            EnforcementResult result = enforcer(false).failClosed(sandbox.id(), "podman", sandbox.pid(),
                    Path.of("/run/netns", name), ErrorCode.POLICY_NOT_FOUND, "no policy for task t-1");

            assertThat(result.quarantined()).as("%s", result).isFalse();
            assertThat(Sh.run("nsenter", "-t", Integer.toString(sandbox.pid()), "-n", "nft", "list", "table", "inet",
                    "netfence").ok()).as("nothing written where the pid is").isFalse();
        } finally {
            Sh.run("ip", "netns", "delete", name);
        }
    }

    private static DefaultEnforcer enforcer() {
        return enforcer(true);
    }

    private static DefaultEnforcer enforcer(boolean cgroupCheck) {
        return DecoyProbes.enforcer(cgroupCheck);
    }
}
