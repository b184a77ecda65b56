package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.netns.NamespaceId;
import dev.netfence.testkit.ExitedLeader;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import dev.netfence.testkit.Python;
import dev.netfence.testkit.Sh;
import dev.netfence.testkit.Streams;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A workload with no capability added that moves its pid 1 into a user and network namespace of
 * its own ({@code unshare -Urn}, which podman's default seccomp profile allows) and leaves a
 * process behind in the runtime's namespace: an event naming the runtime's path ({@code netns})
 * is refused NAMESPACE_MISMATCH, and the runtime's namespace, where that process is, is
 * quarantined, so the process left behind reaches nothing; the decoy namespace is not written. So
 * is an event with no path, or with {@code /proc/PID/ns/net} of its own pid (which follows the pid).
 * And a pod member whose pid 1 moves so after the apply still owns its namespace while a process
 * of it is there: another member's different policy is refused, not written over its own.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class DecoyNamespacePodmanTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    private static final int HTTP = 8080;

    @Test
    void aPid1MovedIntoANamespaceOfItsOwnLeavesTheRuntimesNamespaceQuarantinedNotOpen() throws Exception {
        PodmanContainer peer = PODMAN.peer(HTTP);
        PodmanContainer decoy = PODMAN.start("decoy", List.of(), "/bin/sh", "-c",
                "/bin/sleep 3600 & exec /bin/unshare -Urn /bin/sleep 3600");
        long real = NamespaceId.of(decoy.sandboxKey()).inode();
        awaitMoved(decoy, real);
        int behind = processIn(decoy, real).orElseThrow(() -> new AssertionError("no process left behind"));
        assertThat(reaches(behind, peer)).as("open before: the process left behind reaches the peer").isTrue();
        DefaultEnforcer enforcer = enforcer();

        EnforcementResult result = enforcer.enforce(new EnforcementRequest(decoy.id(), "podman", decoy.pid(),
                decoy.sandboxKey(), Streams.allowingOnly(peer.ipv4(), "7300/tcp"), Clock.systemUTC().instant().plusSeconds(30)));

        assertThat(result.error()).as("%s", result).isNotNull();
        assertThat(result.error().code()).isEqualTo("NAMESPACE_MISMATCH");
        assertThat(result.error().message()).contains("is not in the namespace " + decoy.sandboxKey());
        assertThat(result.quarantined()).as("the runtime's namespace is quarantined").isTrue();
        assertThat(reaches(behind, peer)).as("the process left behind reaches nothing").isFalse();
        assertThat(Sh.ok("nsenter", "--net=" + decoy.sandboxKey(), "--", "nft", "list", "ruleset")
                + Sh.ok("nsenter", "--net=" + decoy.sandboxKey(), "--", "iptables-nft-save", "-t", "filter"))
                .as("the quarantine in the runtime's namespace").containsIgnoringCase("netfence");
        assertThat(Sh.ok("nsenter", "-t", Integer.toString(decoy.pid()), "-n", "--", "nft", "list", "ruleset"))
                .as("nothing in the decoy").doesNotContainIgnoringCase("netfence");
    }

    /**
     * Without a path, and with {@code /proc/PID/ns/net} of the event's own pid, which leads into
     * the decoy with the pid and so proves nothing (before, that path skipped the decoy checks and
     * the decoy was reported {@code applied} while the namespace left behind stayed open).
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void withoutTheRuntimesPathADecoyWithAnInterfaceIsRefusedAndTheNamespaceLeftBehindQuarantined(boolean procPath)
            throws Exception {
        PodmanContainer peer = PODMAN.peer(HTTP);
        // busybox's ip makes a veth pair (veth0, v0): the decoy has interfaces besides lo
        PodmanContainer decoy = PODMAN.start("decoy", List.of(), "/bin/sh", "-c", "/bin/sleep 3600 & exec"
                + " /bin/unshare -Urn /bin/sh -c '/bin/ip link add v0 type veth peer name v1; exec /bin/sleep 3600'");
        long real = NamespaceId.of(decoy.sandboxKey()).inode();
        awaitMoved(decoy, real);
        int behind = processIn(decoy, real).orElseThrow(() -> new AssertionError("no process left behind"));
        assertThat(Sh.ok("nsenter", "-t", Integer.toString(decoy.pid()), "-n", "--", "ip", "-o", "link"))
                .as("the decoy has an interface besides lo").contains("v0");
        assertThat(reaches(behind, peer)).as("open before").isTrue();

        Path path = procPath ? Path.of("/proc/" + decoy.pid() + "/ns/net") : null;
        EnforcementResult result = enforcer().enforce(new EnforcementRequest(decoy.id(), "podman", decoy.pid(),
                path, Streams.allowingOnly(peer.ipv4(), "7300/tcp"), Clock.systemUTC().instant().plusSeconds(30)));

        assertThat(result.error()).as("%s", result).isNotNull();
        assertThat(result.error().code()).isEqualTo("NAMESPACE_MISMATCH");
        assertThat(result.error().message()).contains("was made inside the container");
        assertThat(result.quarantined()).as("the namespace left behind is quarantined").isTrue();
        assertThat(result.target().netnsInode()).isEqualTo(real);
        assertThat(reaches(behind, peer)).as("the process left behind reaches nothing").isFalse();
        assertThat(Sh.ok("nsenter", "-t", Integer.toString(decoy.pid()), "-n", "--", "nft", "list", "ruleset"))
                .as("nothing in the decoy").doesNotContainIgnoringCase("netfence");

        EnforcementResult plain = enforcer().enforce(new EnforcementRequest(peer.id(), "podman", peer.pid(), null,
                Streams.allowingOnly(decoy.ipv4(), "7300/tcp"), Clock.systemUTC().instant().plusSeconds(30)));
        assertThat(plain.status()).as("a container whose namespace the runtime made: %s", plain).isEqualTo("applied");
    }

    @Test
    void aProcessLeftBehindWhoseMainThreadExitedStillWitnessesTheRuntimesNamespace() throws Exception {
        PodmanContainer peer = PODMAN.peer(HTTP);
        String go = "/tmp/go-" + java.util.UUID.randomUUID();
        PodmanContainer decoy = PODMAN.start("decoy", List.of(), "/bin/sh", "-c", "while [ ! -e " + go
                + " ]; do /bin/sleep 1; done; exec /bin/unshare -Urn /bin/sleep 3600");
        long real = NamespaceId.of(decoy.sandboxKey()).inode();
        try (ExitedLeader behind = ExitedLeader.startInNamespaceOf(decoy.pid())) {
            decoy.adopt(behind.pid()); // the container's only process left in its namespace once pid 1 moves
            behind.exitLeader(); // its /proc/PID/ns/net and cgroup answer through its live thread only
            decoy.exec("/bin/touch", go);
            awaitMoved(decoy, real);

            EnforcementResult result = enforcer().enforce(new EnforcementRequest(decoy.id(), "podman", decoy.pid(),
                    decoy.sandboxKey(), Streams.allowingOnly(peer.ipv4(), "7300/tcp"),
                    Clock.systemUTC().instant().plusSeconds(30)));

            assertThat(result.error()).as("%s", result).isNotNull();
            assertThat(result.error().code()).isEqualTo("NAMESPACE_MISMATCH");
            assertThat(result.quarantined()).as("found through its live thread").isTrue();
            assertThat(result.target().pid()).isEqualTo(behind.pid());
            assertThat(Sh.run("nsenter", "--net=" + decoy.sandboxKey(), "--", Python.EXE, "-c",
                    "import socket, sys; socket.create_connection((sys.argv[1], " + HTTP + "), 2).close()",
                    peer.ipv4()).exitCode()).as("the runtime's namespace reaches nothing").isNotZero();
        }
    }

    @Test
    void aPodMemberWhosePid1MovesAfterTheApplyStillKeepsAnotherMembersPolicyOut() throws Exception {
        PodmanContainer peer = PODMAN.peer(HTTP);
        String go = "/tmp/go-" + java.util.UUID.randomUUID();
        PodmanContainer strict = PODMAN.start("mover", List.of(), "/bin/sh", "-c", "/bin/sleep 3600 & while [ ! -e "
                + go + " ]; do /bin/sleep 1; done; exec /bin/unshare -Urn /bin/sleep 3600");
        PodmanContainer loose = PODMAN.start("member", List.of("--network", "container:" + strict.name()),
                "/bin/sleep", "3600");
        long real = NamespaceId.of(strict.sandboxKey()).inode();
        DefaultEnforcer enforcer = enforcer();
        assertThat(enforcer.enforce(request(strict, strict.pid(), Streams.allowingOnly(peer.ipv4(), "7300/tcp")))
                .status()).isEqualTo("applied");
        EnforcementResult refused = enforcer.enforce(request(loose, loose.pid(),
                Streams.allowingOnly(peer.ipv4(), HTTP + "/tcp")));
        assertThat(refused.error()).as("%s", refused).isNotNull();
        assertThat(refused.error().code()).isEqualTo("NAMESPACE_SHARED");

        strict.exec("/bin/touch", go); // its pid 1 moves into a user and network namespace of its own
        awaitMoved(strict, real);
        assertThat(processIn(strict, real)).as("a process of it stays behind").isPresent();

        EnforcementResult again = enforcer.enforce(request(loose, loose.pid(),
                Streams.allowingOnly(peer.ipv4(), HTTP + "/tcp")));

        assertThat(again.error()).as("%s", again).isNotNull();
        assertThat(again.error().code()).isEqualTo("NAMESPACE_SHARED");
        assertThat(reaches(loose.pid(), peer)).as("the strict policy still holds the namespace").isFalse();
    }

    @Test
    void decoysInPidNamespacesOfTheirOwnOrByTheDozenNeitherSteerNorStopTheSearchForTheNamespaceLeftBehind()
            throws Exception {
        PodmanContainer peer = PODMAN.peer(HTTP);
        String veth = "/bin/ip link add v0 type veth peer name v1; exec /bin/sleep 3600";
        // 17 decoys of its own user and network namespace each, one in a pid namespace of its own too (its user
        // namespace owns both), a worker left in the runtime's namespace, then pid 1 into a decoy of its own
        PodmanContainer decoy = PODMAN.start("decoys", List.of(), "/bin/sh", "-c", "i=0; while [ $i -lt 17 ]; do"
                + " /bin/unshare -Urn /bin/sleep 3600 & i=$((i+1)); done; /bin/unshare -Urpnf /bin/sh -c '" + veth + "' &"
                + " /bin/sleep 1; /bin/sleep 3600 & /bin/sleep 1; exec /bin/unshare -Urn /bin/sh -c '" + veth + "'");
        long real = NamespaceId.of(decoy.sandboxKey()).inode();
        awaitMoved(decoy, real);
        int behind = processIn(decoy, real).orElseThrow(() -> new AssertionError("no process left behind"));

        EnforcementResult result = enforcer().enforce(new EnforcementRequest(decoy.id(), "podman", decoy.pid(),
                null, Streams.allowingOnly(peer.ipv4(), "7300/tcp"), Clock.systemUTC().instant().plusSeconds(30)));

        assertThat(result.quarantined()).as("%s", result).isTrue();
        assertThat(result.target().netnsInode()).as("the namespace left behind, no decoy").isEqualTo(real);
        assertThat(reaches(behind, peer)).as("the process left behind reaches nothing").isFalse();
    }

    @Test
    void aProcessLeftBehindInAPidNamespaceOfItsOwnStillWitnessesTheRuntimesNamespace() throws Exception {
        PodmanContainer peer = PODMAN.peer(HTTP);
        // a worker alone in a user and pid namespace of its own (no network namespace: it stays in the runtime's;
        // the shell that made it exits, so no process of the container is left in the event pid's pid namespace
        // there), then pid 1 into a decoy
        PodmanContainer decoy = PODMAN.start("decoy", List.of(), "/bin/sh", "-c", "/bin/unshare -Urp /bin/sh -c"
                + " '/bin/sleep 3600 &'; /bin/sleep 1; exec /bin/unshare -Urn /bin/sleep 3600");
        long real = NamespaceId.of(decoy.sandboxKey()).inode();
        awaitMoved(decoy, real);
        int behind = processIn(decoy, real).orElseThrow(() -> new AssertionError("no process left behind"));
        assertThat(NamespaceId.of(Path.of("/proc/" + behind + "/ns/pid")))
                .as("the one left behind is in another pid namespace than the event's pid")
                .isNotEqualTo(NamespaceId.of(Path.of("/proc/" + decoy.pid() + "/ns/pid")));

        EnforcementResult result = enforcer().enforce(new EnforcementRequest(decoy.id(), "podman", decoy.pid(),
                null, Streams.allowingOnly(peer.ipv4(), "7300/tcp"), Clock.systemUTC().instant().plusSeconds(30)));

        assertThat(result.quarantined()).as("%s", result).isTrue();
        assertThat(result.target().netnsInode()).as("the runtime's namespace, not the decoy").isEqualTo(real);
        assertThat(reaches(behind, peer)).as("the process left behind reaches nothing").isFalse();
    }

    @Test
    void aQuarantineWrittenThroughAWitnessOutlivesItWhileAnotherProcessOfTheContainerIsThere() throws Exception {
        PodmanContainer peer = PODMAN.peer(HTTP);
        PodmanContainer loose = PODMAN.start("member", List.of(), "/bin/sleep", "3600");
        DefaultEnforcer enforcer = enforcer();
        assertThat(enforcer.enforce(request(loose, loose.pid(), Streams.allowingOnly(peer.ipv4(), HTTP + "/tcp")))
                .status()).isEqualTo("applied");
        String go = "/tmp/go-" + java.util.UUID.randomUUID();
        PodmanContainer mover = PODMAN.start("mover", List.of("--network", "container:" + loose.name()), "/bin/sh",
                "-c", "while [ ! -e " + go + " ]; do /bin/sleep 1; done; exec /bin/unshare -Urn /bin/sleep 3600");
        long real = NamespaceId.of(loose.sandboxKey()).inode();
        Process first = new ProcessBuilder("nsenter", "--net=" + loose.sandboxKey(), "--", "sleep", "3600").start();
        Process second = null;
        try {
            mover.adopt(first.pid()); // its only process in the namespace once its pid 1 moves: the witness
            mover.exec("/bin/touch", go);
            awaitMoved(mover, real);
            EnforcementResult fenced = enforcer.enforce(new EnforcementRequest(mover.id(), "podman", mover.pid(),
                    loose.sandboxKey(), Streams.allowingOnly(peer.ipv4(), "7300/tcp"),
                    Clock.systemUTC().instant().plusSeconds(30)));
            assertThat(fenced.quarantined()).as("%s", fenced).isTrue();
            assertThat(fenced.target().pid()).isEqualTo(first.pid());
            second = new ProcessBuilder("nsenter", "--net=" + loose.sandboxKey(), "--", "sleep", "3600").start();
            mover.adopt(second.pid());

            first.destroyForcibly().waitFor(); // the witness exits and is reaped
            EnforcementResult again = enforcer.enforce(request(loose, loose.pid(),
                    Streams.allowingOnly(peer.ipv4(), HTTP + "/tcp")));

            assertThat(again.status()).as("the member's policy does not replace the quarantine: %s", again)
                    .isNotEqualTo("applied");
            assertThat(reaches(loose.pid(), peer)).as("the pod's namespace stays quarantined").isFalse();
        } finally {
            first.destroyForcibly().waitFor();
            if (second != null) {
                second.destroyForcibly().waitFor();
            }
        }
    }

    @ParameterizedTest(name = "with the runtime's path: {0}")
    @ValueSource(booleans = {false, true})
    void aRuntimesNamespaceWithNoProcessLeftButTheWorkloadsConnectionsIsQuarantinedThroughTheirSockets(boolean path)
            throws Exception {
        PodmanContainer sink = PODMAN.start("sink", List.of(), "/bin/nc", "-l", "-p", "7000");
        awaitListening(sink, 7000);
        // pid 1 connects while the namespace is open, then moves with the connection into a user and network
        // namespace of its own, where it keeps writing: no process of the container is left in the runtime's namespace
        PodmanContainer decoy = PODMAN.start("decoy", List.of(), "/bin/sh", "-c", "exec /bin/nc " + sink.ipv4()
                + " 7000 -e /bin/unshare -Urn /bin/sh -c 'while :; do echo x; /bin/sleep 0.1; done'");
        long real = NamespaceId.of(decoy.sandboxKey()).inode();
        awaitMoved(decoy, real);
        assertThat(processIn(decoy, real)).as("no process of the container in the runtime's namespace").isEmpty();
        assertThat(stillReceiving(sink)).as("the connection carries the workload's writes before").isTrue();

        EnforcementResult result = enforcer().enforce(new EnforcementRequest(decoy.id(), "podman", decoy.pid(),
                path ? decoy.sandboxKey() : null, Streams.allowingOnly(sink.ipv4(), "7300/tcp"),
                Clock.systemUTC().instant().plusSeconds(30)));

        assertThat(result.error()).as("%s", result).isNotNull();
        assertThat(result.error().code()).isEqualTo("NAMESPACE_MISMATCH");
        assertThat(result.quarantined()).as("the runtime's namespace is quarantined").isTrue();
        assertThat(result.target().netnsInode()).as("the runtime's namespace, not the decoy").isEqualTo(real);
        assertThat(result.target().pid()).as("recorded under the event's pid, the container's").isEqualTo(decoy.pid());
        Thread.sleep(1000); // the flush and the drop end the flow within a second of the outcome
        assertThat(stillReceiving(sink)).as("the connection carries nothing after").isFalse();
        assertThat(Sh.ok("nsenter", "-t", Integer.toString(decoy.pid()), "-n", "--", "nft", "list", "ruleset"))
                .as("nothing in the decoy").doesNotContainIgnoringCase("netfence");
    }

    @Test
    void withTheRuntimesPathANamespaceNoProcessOfTheContainerIsLeftInIsQuarantinedByThePath() throws Exception {
        PodmanContainer peer = PODMAN.peer(HTTP);
        PodmanContainer decoy = PODMAN.start("decoy", List.of(), "/bin/sh", "-c", "exec /bin/unshare -Urn /bin/sleep 3600");
        long real = NamespaceId.of(decoy.sandboxKey()).inode();
        awaitMoved(decoy, real);
        assertThat(processIn(decoy, real)).as("no process of the container in the runtime's namespace").isEmpty();

        EnforcementResult result = enforcer().enforce(new EnforcementRequest(decoy.id(), "podman", decoy.pid(),
                decoy.sandboxKey(), Streams.allowingOnly(peer.ipv4(), "7300/tcp"), Clock.systemUTC().instant().plusSeconds(30)));

        assertThat(result.error()).as("%s", result).isNotNull();
        assertThat(result.error().code()).isEqualTo("NAMESPACE_MISMATCH");
        assertThat(result.quarantined()).as("the runtime's namespace is quarantined").isTrue();
        assertThat(result.target().netnsInode()).isEqualTo(real);
        assertThat(result.target().pid()).as("recorded under the event's pid, the container's").isEqualTo(decoy.pid());
        assertThat(Sh.run("nsenter", "--net=" + decoy.sandboxKey(), "--", Python.EXE, "-c",
                "import socket, sys; socket.create_connection((sys.argv[1], " + HTTP + "), 2).close()",
                peer.ipv4()).exitCode()).as("whatever joins the runtime's namespace reaches nothing").isNotZero();
    }

    /** Whether the sink's log (what it received) grows within 1.5 s. */
    private static boolean stillReceiving(PodmanContainer sink) throws InterruptedException {
        int before = sink.logs().length();
        Thread.sleep(1500);
        return sink.logs().length() > before;
    }

    private static void awaitListening(PodmanContainer c, int port) throws Exception {
        for (int i = 0; i < 200 && !c.listensTcp(port); i++) {
            Thread.sleep(50);
        }
        assertThat(c.listensTcp(port)).as("%s listens on %d: %s", c, port, c.logs()).isTrue();
    }

    /**
     * A producer that sends container A's start with B's sandbox path (a stale or mixed-up map):
     * refused NAMESPACE_MISMATCH, and B, whose process is in that namespace, is not quarantined in
     * A's name (before, the path was pinned for A's quarantine, and B reached nothing while A ran).
     */
    @Test
    void anEventNamingAnotherContainersSandboxPathLeavesThatContainerAsItsOwnPolicySays() throws Exception {
        PodmanContainer peer = PODMAN.peer(HTTP);
        PodmanContainer a = PODMAN.sandbox();
        PodmanContainer b = PODMAN.sandbox();
        DefaultEnforcer enforcer = enforcer();
        EnforcementResult own = enforcer.enforce(new EnforcementRequest(b.id(), "podman", b.pid(), b.sandboxKey(),
                Streams.allowingOnly(peer.ipv4(), HTTP + "/tcp"), Clock.systemUTC().instant().plusSeconds(30)));
        assertThat(own.status()).as("%s", own).isEqualTo("applied");
        assertThat(reaches(b.pid(), peer)).as("B under its own policy").isTrue();

        EnforcementResult mixedUp = enforcer.enforce(new EnforcementRequest(a.id(), "podman", a.pid(), b.sandboxKey(),
                Streams.allowingOnly(peer.ipv4(), "7300/tcp"), Clock.systemUTC().instant().plusSeconds(30)));

        assertThat(mixedUp.error()).as("%s", mixedUp).isNotNull();
        assertThat(mixedUp.error().code()).isEqualTo("NAMESPACE_MISMATCH");
        assertThat(reaches(b.pid(), peer)).as("B not quarantined in A's name").isTrue();
    }

    private DefaultEnforcer enforcer() {
        return DecoyProbes.enforcer(true);
    }

    private static EnforcementRequest request(PodmanContainer c, int pid, dev.netfence.policy.NetworkPolicy policy) {
        return new EnforcementRequest(c.id(), "podman", pid, null, policy, Clock.systemUTC().instant().plusSeconds(30));
    }

    /** Whether {@code pid}'s namespace can open a TCP connection to the peer's web server. */
    private static boolean reaches(int pid, PodmanContainer peer) {
        return DecoyProbes.reaches(pid, peer, HTTP);
    }

    private static void awaitMoved(PodmanContainer c, long real) throws Exception {
        DecoyProbes.awaitMoved(c, real);
    }

    private static Optional<Integer> processIn(PodmanContainer c, long inode) throws Exception {
        return DecoyProbes.processIn(c, inode);
    }
}
