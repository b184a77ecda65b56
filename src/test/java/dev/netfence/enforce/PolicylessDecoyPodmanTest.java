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
import dev.netfence.testkit.Python;
import dev.netfence.testkit.Sh;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A container with no usable policy (none stored, or an invalid one) is quarantined where it runs
 * even when its workload moved its pid 1 into a user and network namespace of its own: the
 * runtime's namespace, through the process left behind or through the runtime's path, as for a
 * container with a policy ({@link DecoyNamespacePodmanTest}). Before, the pin of the event's pid
 * was refused NAMESPACE_MISMATCH and nothing was written: the outcome said POLICY_NOT_FOUND and
 * the runtime's namespace stayed open.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class PolicylessDecoyPodmanTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    private static final int HTTP = 8080;

    @ParameterizedTest(name = "with the runtime's path: {0}")
    @ValueSource(booleans = {true, false})
    void aContainerWithoutAPolicyWhosePid1MovedHasTheNamespaceItLeftBehindQuarantined(boolean path) throws Exception {
        PodmanContainer peer = PODMAN.peer(HTTP);
        // the decoy has an interface besides lo (busybox's ip makes a veth pair), so only its maker gives it away
        PodmanContainer decoy = PODMAN.start("decoy", List.of(), "/bin/sh", "-c", "/bin/sleep 3600 & exec"
                + " /bin/unshare -Urn /bin/sh -c '/bin/ip link add v0 type veth peer name v1; exec /bin/sleep 3600'");
        long real = NamespaceId.of(decoy.sandboxKey()).inode();
        DecoyProbes.awaitMoved(decoy, real);
        int behind = DecoyProbes.processIn(decoy, real).orElseThrow(() -> new AssertionError("no process left behind"));
        assertThat(DecoyProbes.reaches(behind, peer, HTTP)).as("open before").isTrue();

        EnforcementResult result = enforcer().failClosed(decoy.id(), "podman", decoy.pid(),
                path ? decoy.sandboxKey() : null, ErrorCode.POLICY_NOT_FOUND, "no policy for task t-1");

        assertThat(result.error()).as("%s", result).isNotNull();
        assertThat(result.error().code()).isEqualTo("POLICY_NOT_FOUND");
        assertThat(result.quarantined()).as("the runtime's namespace is quarantined: %s", result).isTrue();
        assertThat(result.target().netnsInode()).as("the namespace left behind, not the decoy").isEqualTo(real);
        assertThat(DecoyProbes.reaches(behind, peer, HTTP)).as("the process left behind reaches nothing").isFalse();
        assertThat(Sh.ok("nsenter", "-t", Integer.toString(decoy.pid()), "-n", "--", "nft", "list", "ruleset"))
                .as("nothing in the decoy").doesNotContainIgnoringCase("netfence");
    }

    @ParameterizedTest(name = "code {0}")
    @ValueSource(strings = {"POLICY_NOT_FOUND", "INVALID_POLICY"})
    void aRuntimesNamespaceNoProcessOfTheContainerIsLeftInIsQuarantinedByItsPath(String code) throws Exception {
        PodmanContainer peer = PODMAN.peer(HTTP);
        PodmanContainer decoy = PODMAN.start("decoy", List.of(), "/bin/sh", "-c", "exec /bin/unshare -Urn /bin/sleep 3600");
        long real = NamespaceId.of(decoy.sandboxKey()).inode();
        DecoyProbes.awaitMoved(decoy, real);
        assertThat(DecoyProbes.processIn(decoy, real)).as("no process of the container there").isEmpty();

        EnforcementResult result = enforcer().failClosed(decoy.id(), "podman", decoy.pid(), decoy.sandboxKey(),
                ErrorCode.valueOf(code), "no usable policy");

        assertThat(result.quarantined()).as("%s", result).isTrue();
        assertThat(result.error().code()).isEqualTo(code);
        assertThat(result.target().netnsInode()).isEqualTo(real);
        assertThat(Sh.run("nsenter", "--net=" + decoy.sandboxKey(), "--", Python.EXE, "-c",
                "import socket, sys; socket.create_connection((sys.argv[1], " + HTTP + "), 2).close()",
                peer.ipv4()).exitCode()).as("whatever joins the runtime's namespace reaches nothing")
                .isNotZero();
    }

    /**
     * An event without a pid: the pid the runtime gives (its pid 1, in the decoy) is searched from as
     * one the event carried; before, nothing was searched for and the runtime's namespace stayed open,
     * with a policy and without one.
     */
    @ParameterizedTest(name = "with a policy: {0}")
    @ValueSource(booleans = {true, false})
    void anEventWithoutAPidHasTheNamespaceThePidItsRuntimeGivesLeftQuarantined(boolean policy) throws Exception {
        PodmanContainer peer = PODMAN.peer(HTTP);
        PodmanContainer decoy = PODMAN.start("decoy", List.of(), "/bin/sh", "-c",
                "/bin/sleep 3600 & exec /bin/unshare -Urn /bin/sleep 3600");
        long real = NamespaceId.of(decoy.sandboxKey()).inode();
        DecoyProbes.awaitMoved(decoy, real);
        int behind = DecoyProbes.processIn(decoy, real).orElseThrow(() -> new AssertionError("no process left behind"));
        assertThat(DecoyProbes.reaches(behind, peer, HTTP)).as("open before").isTrue();

        EnforcementResult result = policy
                ? enforcer().enforce(new EnforcementRequest(decoy.id(), "podman", null, decoy.sandboxKey(),
                        dev.netfence.testkit.Streams.allowingOnly(peer.ipv4(), "7300/tcp"),
                        java.time.Clock.systemUTC().instant().plusSeconds(30)))
                : enforcer().failClosed(decoy.id(), "podman", null, decoy.sandboxKey(), ErrorCode.POLICY_NOT_FOUND,
                        "no policy for task t-1");

        assertThat(result.quarantined()).as("%s", result).isTrue();
        assertThat(result.target().netnsInode()).isEqualTo(real);
        assertThat(DecoyProbes.reaches(behind, peer, HTTP)).as("the process left behind reaches nothing").isFalse();
    }

    private static DefaultEnforcer enforcer() {
        return DecoyProbes.enforcer(true);
    }
}
