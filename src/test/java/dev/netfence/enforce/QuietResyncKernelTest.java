package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.hostguard.HostGuardMode;
import dev.netfence.hostguard.HostGuards;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.ContainerPidLookup;
import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.NamespacePinner;
import dev.netfence.netns.ProcNamespacePinner;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.netns.SystemEndpointResolver;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.ProcCapabilities;
import dev.netfence.testkit.Sh;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The reconciler's quiet resync ({@link QuietResyncs}) against the real kernel, with the in-process
 * nft backend and a process in a namespace the test made: a resync of a container whose
 * namespace's ruleset did not change is answered without a pin, and each thing the skip relies
 * on, when it changes, brings the full attempt back with its answer: a rule added, a chain
 * flushed, the table deleted and a change undone (drift, or a full read-back that finds none), a
 * refused capability the workload gains by unsharing a user namespace (UNSAFE_CAPABILITIES,
 * quarantined; one it keeps permitted, to raise with capset, is refused at the first apply), the process gone (not applied), and a released namespace (pinned again). With
 * the host guard on, a quiet resync still checks the container's host chain (deleted from
 * outside: repaired and reported, still without a pin), and one of a container holding
 * CAP_NET_ADMIN in the host's user namespace does not claim the host guard, as its full attempt did not.
 * Without refusals the capabilities are read again once the last read is five minutes old.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class QuietResyncKernelTest {
    private String name;
    private Path nsPath;
    private final List<Process> started = new ArrayList<>();
    private final AtomicInteger pins = new AtomicInteger();
    private DefaultEnforcer enforcer;
    private NamespaceId recorded;
    private NamespaceWorkloads workloads;
    private final dev.netfence.testkit.MutableClock steady = new dev.netfence.testkit.MutableClock(Instant.EPOCH);

    @BeforeEach
    void makeNamespace() {
        byte[] random = new byte[4];
        new SecureRandom().nextBytes(random);
        name = "nfq-" + HexFormat.of().formatHex(random);
        nsPath = Path.of("/run/netns", name);
        Sh.ok("ip", "netns", "add", name);
        Sh.ok("ip", "-n", name, "link", "add", "q0", "type", "veth", "peer", "name", "q1"); // not a lo-only namespace
        workloads = new NamespaceWorkloads(name, nsPath, started);
    }

    @AfterEach
    void cleanUp() throws Exception {
        for (Process p : started) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        if (enforcer != null && recorded != null) {
            enforcer.released(recorded); // closes the kept socket, so the namespace can go
        }
        Sh.run("ip", "netns", "del", name);
    }

    @Test
    void aResyncOfAnUnchangedNamespaceNeedsNoPinAndEveryChangeToTheRulesetBringsTheFullCheckBack() throws Exception {
        int pid = workloads.sleeper();
        enforcer = enforcer(Set.of());
        assertThat(enforcer.enforce(request(pid)).status()).isEqualTo("applied");
        recorded = NamespaceId.of(nsPath);

        for (int i = 0; i < 3; i++) {
            assertThat(resync(pid)).as("nothing changed: no pin").isEqualTo(new Resync("applied", null, 0));
        }
        nft("insert", "rule", "inet", "netfence", "output", "accept");
        Resync added = resync(pid);
        assertThat(added.pins()).isEqualTo(1);
        assertThat(added.drift()).isNotNull();
        assertThat(resync(pid)).as("repaired and verified again").isEqualTo(new Resync("applied", null, 0));

        nft("flush", "chain", "inet", "netfence", "input");
        assertThat(resync(pid).drift()).isNotNull();
        nft("delete", "table", "inet", "netfence");
        assertThat(resync(pid).drift()).isNotNull();
        assertThat(resync(pid)).isEqualTo(new Resync("applied", null, 0));

        nft("add", "chain", "inet", "netfence", "extra");
        nft("delete", "chain", "inet", "netfence", "extra");
        assertThat(resync(pid)).as("changed and undone: read back in full, nothing to repair")
                .isEqualTo(new Resync("applied", null, 1));
    }

    @Test
    void aRefusedCapabilityKeptOnlyInThePermittedSetIsRefusedAtTheFirstApplyNotLeftForACapsetLater() throws Exception {
        Process workload = workloads.capableWorkload(true);
        int pid = (int) workload.pid();
        NamespaceWorkloads.awaitCapability(pid, "CapPrm", 12);
        assertThat(ProcCapabilities.holds(pid, "CapEff", 12)).as("not effective").isFalse();
        assertThat(ProcCapabilities.holds(pid, "CapBnd", 12)).as("not in the bounding set").isFalse();
        enforcer = enforcer(Set.of("CAP_NET_ADMIN"));
        EnforcementResult first = enforcer.enforce(request(pid));
        // before the seventh session this was applied (CapEff and CapBnd only were read) and caught
        // only at a resync after the workload raised the capability with capset
        assertThat(first.error()).as("%s", first).isNotNull();
        assertThat(first.error().code()).isEqualTo("UNSAFE_CAPABILITIES");
        assertThat(first.quarantined()).isTrue();
    }

    @Test
    void aWorkloadThatUnsharesAUserNamespaceHoldsTheRefusedCapabilityInItsBoundingSetAndIsRefused() throws Exception {
        Process workload = workloads.capableWorkload(false);
        int pid = (int) workload.pid();
        enforcer = enforcer(Set.of("CAP_NET_ADMIN"));
        assertThat(enforcer.enforce(request(pid)).status()).isEqualTo("applied");
        recorded = NamespaceId.of(nsPath);
        assertThat(resync(pid)).isEqualTo(new Resync("applied", null, 0));

        Sh.ok("kill", "-USR2", Long.toString(pid)); // unshare(CLONE_NEWUSER), then capset: nothing effective
        NamespaceWorkloads.awaitCapability(pid, "CapBnd", 12);

        EnforcementResult after = enforcer.reconcile(request(pid), recorded);
        assertThat(after.error()).as("%s", after).isNotNull();
        assertThat(after.error().code()).as("%s", after).isEqualTo("UNSAFE_CAPABILITIES");
    }

    @Test
    void aProcessThatExitedIsNotReportedAppliedAndAReleasedNamespaceIsPinnedAgain() throws Exception {
        int pid = workloads.sleeper();
        enforcer = enforcer(Set.of());
        assertThat(enforcer.enforce(request(pid)).status()).isEqualTo("applied");
        recorded = NamespaceId.of(nsPath);
        assertThat(resync(pid)).isEqualTo(new Resync("applied", null, 0));

        enforcer.released(recorded);
        assertThat(resync(pid)).as("released: the full check again").isEqualTo(new Resync("applied", null, 1));
        assertThat(resync(pid)).isEqualTo(new Resync("applied", null, 0));

        started.get(0).destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        EnforcementResult gone = enforcer.reconcile(request(pid), recorded);
        assertThat(gone.status()).as("%s", gone).isNotEqualTo("applied");
        assertThat(gone.error().code()).isEqualTo("CONTAINER_NOT_FOUND");
    }

    @Test
    void withTheHostGuardOnAQuietResyncStillChecksTheHostChainAndRepairsItWithoutAPin() throws Exception {
        withHostVeth(host -> {
            int pid = workloads.containedSleeper();
            enforcer = enforcer(Set.of(), HostGuardMode.AUTO);
            EnforcementResult first = enforcer.enforce(request(pid));
            assertThat(first.status()).as("%s", first).isEqualTo("applied");
            assertThat(first.guards()).contains("host");
            recorded = NamespaceId.of(nsPath);
            assertThat(resync(pid)).isEqualTo(new Resync("applied", null, 0));

            repairedQuietly(pid, host);
            assertThat(resync(pid)).isEqualTo(new Resync("applied", null, 0));
        });
    }

    @Test
    void aContainerHoldingNetRawUnderAClaimedHostGuardGetsTheFullAttemptAtEachResyncWhichTurnsOffloadOffAgain()
            throws Exception {
        withHostVeth(host -> {
            // root in the host's user namespace without NET_ADMIN, NET_RAW kept: a raw-frame workload
            int pid = workloads.sleeper(List.of("setpriv", "--bounding-set=-net_admin", "--inh-caps=-net_admin"));
            enforcer = enforcer(Set.of(), HostGuardMode.AUTO);
            EnforcementResult first = enforcer.enforce(request(pid));
            assertThat(first.status()).as("%s", first).isEqualTo("applied");
            assertThat(first.risks()).contains("CAP_NET_RAW").doesNotContain("CAP_NET_ADMIN");
            assertThat(first.guards()).as("%s", first).containsExactly("netns", "host");
            List<String> inside = List.of("ip", "netns", "exec", name);
            assertThat(dev.netfence.testkit.TxChecksum.of(inside, "eth0")).as("after the apply").isEqualTo("off");
            recorded = NamespaceId.of(nsPath);

            // what a workload holding CAP_NET_ADMIN could do; the rules themselves are unchanged
            dev.netfence.testkit.TxChecksum.set(inside, "eth0", true);
            Resync next = resync(pid);

            assertThat(next).as("a full attempt, not the quiet one").isEqualTo(new Resync("applied", null, 1));
            assertThat(dev.netfence.testkit.TxChecksum.of(inside, "eth0")).as("after the resync").isEqualTo("off");

            // its host chain deleted from outside: the quiet check repairs it, then hands the container to the full
            // attempt (NET_RAW under a claimed guard), which finds the chain equal; the repair is reported all the same
            Sh.ok("nft", "delete", "chain", "netdev", "netfence", host);
            Resync repaired = resync(pid);
            assertThat(repaired.status()).isEqualTo("applied");
            assertThat(repaired.pins()).as("the full attempt").isEqualTo(1);
            assertThat(repaired.drift()).as("review 57 #2: %s", repaired).isNotNull().contains(host);
            assertThat(Sh.ok("nft", "list", "table", "netdev", "netfence")).contains("chain " + host);
        });
    }

    @Test
    void aQuietResyncThatRepairsTheHostChainOfAContainerHoldingNetAdminOverTheHostDoesNotClaimTheHostGuard()
            throws Exception {
        withHostVeth(host -> {
            int pid = workloads.sleeper(); // root with every capability, in the host's user namespace
            enforcer = enforcer(Set.of(), HostGuardMode.AUTO);
            try (dev.netfence.testkit.CapturedLogs logs = dev.netfence.testkit.CapturedLogs.of(GuardReasons.class)) {
                EnforcementResult first = enforcer.enforce(request(pid));
                assertThat(first.status()).as("%s", first).isEqualTo("applied");
                assertThat(first.guards()).as("%s", first).containsExactly("netns");
                recorded = NamespaceId.of(nsPath);
                List<String> why = List.of("container quiet-container-0001: its host guard is not claimed (guards"
                        + " [netns]): " + ContainmentChecks.NET_ADMIN_OVER_HOST);
                assertThat(logs.messages(ch.qos.logback.classic.Level.INFO)).as("why").isEqualTo(why);

                EnforcementResult repaired = repairedQuietly(pid, host);
                assertThat(repaired.guards()).as("as the full attempt reported it: %s", repaired).containsExactly("netns");
                assertThat(logs.messages(ch.qos.logback.classic.Level.INFO)).as("once").isEqualTo(why);
            }
        });
    }

    @Test
    void aQuietResyncThatRepairsTheHostChainReadsTheCapabilitiesAgainAndStopsClaimingTheHostGuardForAProcessGivenNetAdminSince()
            throws Exception {
        withHostVeth(host -> {
            try (dev.netfence.testkit.TestCgroup cgroup = dev.netfence.testkit.TestCgroup.create(
                    "libpod-quiet-container-0001")) {
                int pid = workloads.containedSleeper();
                cgroup.add(pid);
                enforcer = enforcer(Set.of(), HostGuardMode.AUTO);
                EnforcementResult first = enforcer.enforce(request(pid));
                assertThat(first.guards()).as("%s", first).containsExactly("netns", "host");
                recorded = NamespaceId.of(nsPath);

                cgroup.add(workloads.sleeper()); // a process given CAP_NET_ADMIN since, as podman exec --privileged does
                EnforcementResult repaired = repairedQuietly(pid, host);
                assertThat(repaired.risks()).contains("CAP_NET_ADMIN");
                assertThat(repaired.guards()).as("%s", repaired).containsExactly("netns");
                EnforcementResult next = enforcer.reconcile(request(pid), recorded);
                assertThat(next.drift()).isNull();
                assertThat(next.risks()).as("the next quiet resync says the same: %s", next).contains("CAP_NET_ADMIN");
                assertThat(next.guards()).as("%s", next).containsExactly("netns");

                // a pod member beside it learns of that from the quiet read, not only at its next full attempt
                EnforcementRequest member = new EnforcementRequest("quiet-container-0002", null, workloads.containedSleeper(),
                        policy(), Instant.now().plusSeconds(30));
                try {
                    EnforcementResult beside = enforcer.enforce(member);
                    assertThat(beside.status()).as("%s", beside).isEqualTo("applied");
                    assertThat(beside.guards()).as("%s", beside).containsExactly("netns");
                } finally {
                    enforcer.hostGuards().release("quiet-container-0002");
                }
            }
        });
    }

    @Test
    void withoutRefusalsAQuietResyncReadsTheCapabilitiesAgainOnceTheLastReadIsFiveMinutesOldAndReportsWhatItFinds()
            throws Exception {
        try (dev.netfence.testkit.TestCgroup cgroup = dev.netfence.testkit.TestCgroup.create(
                "libpod-quiet-container-0001")) {
            int pid = workloads.containedSleeper();
            cgroup.add(pid);
            enforcer = enforcer(Set.of(), HostGuardMode.OFF, steady);
            // the test's processes run with no seccomp filter, a risk of its own, read at every read too
            assertThat(enforcer.enforce(request(pid)).risks()).containsExactly("NO_SECCOMP");
            recorded = NamespaceId.of(nsPath);

            // a process given CAP_NET_RAW since (not CAP_NET_ADMIN, which would bring the full attempt back)
            cgroup.add(workloads.sleeper(List.of("setpriv", "--bounding-set=-net_admin", "--inh-caps=-net_admin")));
            steady.advance(QuietResyncs.MAX_READ_AGE.minusSeconds(1));
            EnforcementResult before = enforcer.reconcile(request(pid), recorded);
            assertThat(before.risks()).as("the last read is not old yet: %s", before).containsExactly("NO_SECCOMP");

            steady.advance(java.time.Duration.ofSeconds(1));
            int pinsBefore = pins.get();
            EnforcementResult after = enforcer.reconcile(request(pid), recorded);
            assertThat(pins.get() - pinsBefore).as("still quiet: no pin").isZero();
            assertThat(after.risks()).as("%s", after).containsExactly("CAP_NET_RAW", "NO_SECCOMP");
            assertThat(enforcer.reconcile(request(pid), recorded).risks()).as("and the next one too")
                    .containsExactly("CAP_NET_RAW", "NO_SECCOMP");
        }
    }

    private interface HostSide {
        void run(String hostVeth) throws Exception;
    }

    /** {@code body} with the namespace's eth0 a veth whose peer is in the host namespace; the guard released after. */
    private void withHostVeth(HostSide body) throws Exception {
        String host = "nfq" + name.substring(4, 12);
        Sh.ok("ip", "link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", name);
        try {
            body.run(host);
        } finally {
            if (enforcer != null) {
                enforcer.hostGuards().release("quiet-container-0001");
            }
            Sh.run("ip", "link", "del", host);
        }
    }

    /** Deletes the host chain of {@code host} from outside, as an admin could; the resync that repairs it without a pin. */
    private EnforcementResult repairedQuietly(int pid, String host) {
        Sh.ok("nft", "delete", "chain", "netdev", "netfence", host);
        int before = pins.get();
        EnforcementResult repaired = enforcer.reconcile(request(pid), recorded);
        assertThat(pins.get() - before).as("quiet: no pin").isZero();
        assertThat(repaired.drift()).as("the host chain's difference is reported: %s", repaired).isNotNull();
        assertThat(Sh.ok("nft", "list", "table", "netdev", "netfence")).contains("chain " + host);
        return repaired;
    }

    private record Resync(String status, String drift, int pins) {}

    private Resync resync(int pid) {
        int before = pins.get();
        EnforcementResult r = enforcer.reconcile(request(pid), recorded);
        return new Resync(r.status(), r.drift(), pins.get() - before);
    }

    private void nft(String... args) {
        List<String> argv = new ArrayList<>(List.of("nsenter", "--net=" + nsPath, "nft"));
        argv.addAll(List.of(args));
        Sh.ok(argv.toArray(String[]::new));
    }

    private DefaultEnforcer enforcer(Set<String> refuse) {
        return enforcer(refuse, HostGuardMode.OFF);
    }

    private DefaultEnforcer enforcer(Set<String> refuse, HostGuardMode guard) {
        return enforcer(refuse, guard, dev.netfence.core.SteadyClock.system());
    }

    private DefaultEnforcer enforcer(Set<String> refuse, HostGuardMode guard, java.time.Clock steadyClock) {
        EnforcerConfig config = EnforcerConfig.custom().backend(BackendChoice.NFT).cgroupCheck(false)
                .refuseCapabilities(refuse).backoff(Duration.ofMillis(10), Duration.ofMillis(50)).build();
        ProcessCommandRunner runner = new ProcessCommandRunner();
        NamespacePinner real = new ProcNamespacePinner(new ContainerPidLookup(runner, Clock.systemUTC()),
                config.procRoot(), false);
        NamespacePinner counting = (pid, containerId, runtime, deadline) -> {
            pins.incrementAndGet();
            return real.pin(pid, containerId, runtime, deadline);
        };
        return new DefaultEnforcer(config, runner, Clock.systemUTC(), new SimpleMeterRegistry(),
                new SystemEndpointResolver(), counting, HostGuards.create(guard, runner), true, steadyClock);
    }

    private EnforcementRequest request(int pid) {
        return new EnforcementRequest("quiet-container-0001", null, pid, policy(), Instant.now().plusSeconds(30));
    }

    private static NetworkPolicy policy() {
        return new PolicyParser().parse(("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":"
                + "[\"198.51.100.7:443\",\"[2001:db8::7]:443\"],\"dns\":false}").getBytes(StandardCharsets.UTF_8));
    }
}
