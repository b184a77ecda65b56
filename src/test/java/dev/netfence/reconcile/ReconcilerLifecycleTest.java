package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.core.EnforcementResult;
import dev.netfence.event.ContainerEvent;
import dev.netfence.netns.NamespaceId;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Which instance of each container the reconciler holds, with a fake enforcer and policy store,
 * and when it lets one go: a container whose pid left its namespace, moved to another or cannot
 * be reached, stop and start events in either order and for the same id again, the hook's calls
 * for a restart or another member of a pod, and the owners and members of a restored live set.
 */
class ReconcilerLifecycleTest extends ReconcilerFixture {
    @Test
    void theNamespaceOwnersAndQuarantinedMembersOfARestoredLiveSetAreHandedToTheEnforcer() throws Exception {
        NamespaceId ns = new NamespaceId(4, 4026530000L);
        reconciler.liveSet().restore(new LiveContainer("c1", "task-1", "node-1", null, PID, ns, null, "sha256:aa", null,
                false, "nft", Map.of(), Instant.now()));
        NamespaceId where = NamespaceId.of(nsFile); // where PID is
        reconciler.liveSet().restore(new LiveContainer("c2", "task-2", "node-1", null, PID, where, null, null,
                "POLICY_NOT_FOUND", true, "nft", Map.of(), Instant.now()));
        // a member whose pid is neither in its namespace nor its container's (journaled before a reboot): not restored
        reconciler.liveSet().restore(new LiveContainer("c5", "task-2", "node-1", null, PID, ns, null, null,
                "POLICY_NOT_FOUND", true, "nft", Map.of(), Instant.now()));
        // quarantined only because c2 is: neither owner nor member; the hook's fence (no task): neither
        reconciler.liveSet().restore(new LiveContainer("c3", "task-1", "node-1", null, PID, ns, null, "sha256:aa",
                "NAMESPACE_QUARANTINED", true, "nft", Map.of(), Instant.now()));
        reconciler.liveSet().restore(new LiveContainer("c4", null, "node-1", null, PID, ns, null, null,
                "POLICY_NOT_FOUND", true, "nft", Map.of(), Instant.now()));
        enforcer.calls.clear();

        reconciler.restoreNamespaceOwners();

        assertThat(enforcer.calls).containsExactlyInAnyOrder("restoreNamespaceOwner c1 task-1 sha256:aa",
                "restoreQuarantined c2 POLICY_NOT_FOUND");
    }

    @Test
    void aPodMemberRefusedForAnotherPolicyIsRestoredWithThePolicyInForceNotTheOneItWasRefused() {
        NamespaceId pod = new NamespaceId(4, 4026530000L);
        NamespaceId alone = new NamespaceId(4, 4026530001L);
        reconciler.liveSet().restore(new LiveContainer("c1", "task-1", "node-1", null, PID, pod, null, "sha256:aa", null,
                false, "nft", Map.of(), Instant.now()));
        // refused NAMESPACE_SHARED (nothing written): the rules in its namespace are still c1's
        reconciler.liveSet().restore(new LiveContainer("c2", "task-2", "node-1", null, PID, pod, null, "sha256:bb",
                "NAMESPACE_SHARED", false, "nft", Map.of(), Instant.now()));
        // refused once, the other member gone since: nothing better known than its own
        reconciler.liveSet().restore(new LiveContainer("c3", "task-3", "node-1", null, PID, alone, null, "sha256:cc",
                "NAMESPACE_SHARED", false, "nft", Map.of(), Instant.now()));
        enforcer.calls.clear();

        reconciler.restoreNamespaceOwners();

        assertThat(enforcer.calls).containsExactlyInAnyOrder("restoreNamespaceOwner c1 task-1 sha256:aa",
                "restoreNamespaceOwner c2 task-2 sha256:aa", "restoreNamespaceOwner c3 task-3 sha256:cc");
    }

    @Test
    void whereAppliedOwnersDisagreeARefusedMemberIsRestoredWithTheDigestWrittenLast() {
        NamespaceId pod = new NamespaceId(4, 4026530002L);
        Instant earlier = Instant.parse("2026-12-04T00:00:00Z");
        // two members of task-1 caught by a restart in the middle of its update: m2 wrote the new policy last
        reconciler.liveSet().restore(new LiveContainer("m2", "task-1", "node-1", null, PID, pod, null, "sha256:new", null,
                false, "nft", Map.of(), earlier.plusSeconds(5)));
        reconciler.liveSet().restore(new LiveContainer("m1", "task-1", "node-1", null, PID, pod, null, "sha256:old", null,
                false, "nft", Map.of(), earlier));
        reconciler.liveSet().restore(new LiveContainer("r", "task-2", "node-1", null, PID, pod, null, "sha256:other",
                "NAMESPACE_SHARED", false, "nft", Map.of(), earlier.plusSeconds(9)));
        enforcer.calls.clear();

        reconciler.restoreNamespaceOwners();

        assertThat(enforcer.calls).contains("restoreNamespaceOwner r task-2 sha256:new");
    }

    @Test
    void aContainerWhosePidLeftItsNamespaceIsReleasedAtTheNextResync() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        Files.delete(nsFile);

        reconciler.resyncNow();

        assertThat(published).singleElement().satisfies(o -> {
            assertThat(o.status()).isEqualTo("removed");
            assertThat(o.trigger()).isEqualTo("drift");
        });
        assertThat(reconciler.liveSet().size()).isZero();
        assertThat(released).containsExactly("c1");
        assertThat(registry.get("netfence.live.containers").gauge().value()).isZero();
    }

    @Test
    void aContainerWhosePidMovedToAnotherNamespaceButIsStillItsProcessIsKeptReportedAndReappliedWhenItIsBack()
            throws Exception {
        String id = "0123456789abcdef0123456789abcdef";
        policies.put("task-1", ALLOW_A);
        start(id, "task-1");
        Path original = Files.move(nsFile, nsFile.resolveSibling("net.original"));
        Files.writeString(nsFile, ""); // another namespace (another inode)
        Path cgroup = proc.resolve(PID + "/cgroup");
        Files.writeString(cgroup, "0::/machine.slice/libpod-" + id + ".scope\n");
        enforcer.calls.clear();

        reconciler.resyncNow();
        reconciler.resyncNow();

        assertThat(published).as("reported once, not released").singleElement().satisfies(o -> {
            assertThat(o.status()).isEqualTo("failed");
            assertThat(o.error().code()).isEqualTo("NAMESPACE_MISMATCH");
            assertThat(o.trigger()).isEqualTo("drift");
        });
        assertThat(released).isEmpty();
        assertThat(enforcer.calls).as("nothing read back through a pid that is elsewhere").isEmpty();
        assertThat(reconciler.liveSet().get(id)).hasValueSatisfying(c -> assertThat(c.inForce()).isFalse());
        assertThat(registry.get("netfence.reconcile.pid.moved").counter().count()).isEqualTo(1.0);

        Files.move(original, nsFile, java.nio.file.StandardCopyOption.REPLACE_EXISTING); // the pid is back
        reconciler.resyncNow();
        assertThat(enforcer.calls).containsExactly("enforce " + id);
        assertThat(published).hasSize(2).last().satisfies(o -> assertThat(o.status()).isEqualTo("applied"));
        assertThat(reconciler.liveSet().get(id)).hasValueSatisfying(c -> assertThat(c.inForce()).isTrue());

        Files.move(nsFile, original);
        Files.writeString(nsFile, "");
        Files.writeString(cgroup, "0::/machine.slice/libpod-" + "f".repeat(32) + ".scope\n"); // the pid is another's now
        reconciler.resyncNow();
        assertThat(published).hasSize(3).last().satisfies(o -> assertThat(o.status()).isEqualTo("removed"));
        assertThat(released).containsExactly(id);
    }

    @Test
    void anEntryWhoseProcessWentFollowsAnotherProcessOfTheContainerInItsNamespaceInsteadOfBeingReleased()
            throws Exception {
        String id = "0123456789abcdef0123456789abcdef";
        policies.put("task-1", ALLOW_A);
        start(id, "task-1");
        Path other = Files.createDirectories(proc.resolve((PID + 7) + "/ns")).resolve("net");
        Files.createLink(other, nsFile); // the same namespace: the same inode
        Files.writeString(proc.resolve((PID + 7) + "/cgroup"), "0::/machine.slice/libpod-" + id + ".scope\n");
        Files.delete(nsFile); // the recorded process (a witness a quarantine was written through) has gone
        Files.delete(nsFile.getParent());

        reconciler.resyncNow();

        assertThat(released).as("the container still has a process there").isEmpty();
        assertThat(reconciler.liveSet().get(id)).hasValueSatisfying(c -> assertThat(c.pid()).isEqualTo(PID + 7));
    }

    @Test
    void aStartRefusedForAPidOutsideItsNamespaceWhoseNamespaceWasQuarantinedThroughAnotherProcessIsRecordedThere()
            throws Exception {
        String id = "0123456789abcdef0123456789abcdef";
        policies.put("task-1", ALLOW_A);
        ContainerEvent ev = event(id, "task-1", ContainerEvent.CONTAINER_STARTED);
        int witness = restartedIn(PID + 1); // the process left in the container's namespace, the fake enforcer's
        Files.writeString(proc.resolve(witness + "/cgroup"), "0::/machine.slice/libpod-" + id + ".scope\n");
        EnforcementResult quarantinedThere = EnforcementResult.failure(dev.netfence.core.ErrorCode.NAMESPACE_MISMATCH,
                "pid " + PID + " is not in the namespace /run/netns/x").backend("nft").quarantined(true)
                .target(new dev.netfence.core.EnforcementTarget(witness, enforcer.device, enforcer.inode)).build();

        reconciler.started(ev, () -> quarantinedThere);

        // kept under the witness, so resyncs keep its namespace fenced (a correction may meanwhile have applied
        // the task's policy there through it: in force either way), and never released as gone
        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5)).until(() ->
                reconciler.liveSet().get(id).filter(c -> c.pid() == witness && (c.quarantined() || c.inForce()))
                        .isPresent());
        assertThat(released).isEmpty();
    }

    @Test
    void aQuarantineWhoseWitnessWentIsKeptUnderAProcessOfTheContainerElsewhereNotReleased() throws Exception {
        String id = "0123456789abcdef0123456789abcdef";
        policies.put("task-1", ALLOW_A);
        // the event's pid runs on in a namespace of its own (a decoy), still the container's
        Files.writeString(proc.resolve(PID + "/cgroup"), "0::/machine.slice/libpod-" + id + ".scope\n");
        ContainerEvent ev = event(id, "task-1", ContainerEvent.CONTAINER_STARTED);
        int witness = restartedIn(PID + 1);
        Files.writeString(proc.resolve(witness + "/cgroup"), "0::/machine.slice/libpod-" + id + ".scope\n");
        long runtimes = enforcer.inode;
        EnforcementResult quarantinedThere = EnforcementResult.failure(dev.netfence.core.ErrorCode.NAMESPACE_MISMATCH,
                "pid " + PID + " is not in the namespace /run/netns/x").backend("nft").quarantined(true)
                .target(new dev.netfence.core.EnforcementTarget(witness, enforcer.device, enforcer.inode)).build();
        reconciler.started(ev, () -> quarantinedThere);
        await().atMost(Duration.ofSeconds(5)).until(() -> reconciler.liveSet().get(id).filter(c -> c.pid() == witness)
                .isPresent());

        // the witness exits: no process of the container is left in the runtime's namespace, whose connections may be
        try (java.util.stream.Stream<Path> files = Files.walk(proc.resolve(Integer.toString(witness)))) {
            for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(f);
            }
        }
        reconciler.resyncNow();

        assertThat(released).as("the container still runs").isEmpty();
        assertThat(reconciler.liveSet().get(id)).hasValueSatisfying(c -> {
            assertThat(c.pid()).as("follows the container's process elsewhere").isEqualTo(PID);
            assertThat(c.netns().inode()).as("still the runtime's namespace").isEqualTo(runtimes);
        });
    }

    @Test
    void aContainerTheEnforcerRefusesWhileItsPidIsStillInItsNamespaceIsKeptWithItsHostGuardAndRetriedNotReleased()
            throws Exception {
        // e.g. its eth0 moved out by the workload: the namespace has only lo left, NAMESPACE_MISMATCH
        String id = "0123456789abcdef0123456789abcdef";
        policies.put("task-1", ALLOW_A);
        start(id, "task-1");
        Path cgroup = proc.resolve(PID + "/cgroup");
        Files.writeString(cgroup, "0::/machine.slice/libpod-" + id + ".scope\n");
        enforcer.refuse = dev.netfence.core.ErrorCode.NAMESPACE_MISMATCH;
        enforcer.calls.clear();

        reconciler.resyncNow();
        reconciler.resyncNow();

        assertThat(published).as("reported once, not released").singleElement().satisfies(o -> {
            assertThat(o.status()).isEqualTo("failed");
            assertThat(o.error().code()).isEqualTo("NAMESPACE_MISMATCH");
            assertThat(o.trigger()).isEqualTo("drift");
        });
        assertThat(released).isEmpty();
        assertThat(enforcer.calls).as("retried at each resync").containsExactly("reconcile " + id, "enforce " + id);
        assertThat(reconciler.liveSet().get(id)).hasValueSatisfying(c -> assertThat(c.inForce()).isFalse());
        assertThat(registry.find("netfence.reconcile.pid.moved").counter()).isNull();

        enforcer.refuse = null; // the interface is back
        reconciler.resyncNow();
        assertThat(published).hasSize(2).last().satisfies(o -> assertThat(o.status()).isEqualTo("applied"));
        assertThat(reconciler.liveSet().get(id)).hasValueSatisfying(c -> assertThat(c.inForce()).isTrue());

        enforcer.gone = true; // the pid, still in the namespace, is another container's process now
        Files.writeString(cgroup, "0::/machine.slice/libpod-" + "f".repeat(32) + ".scope\n");
        reconciler.resyncNow();
        assertThat(published).hasSize(3).last().satisfies(o -> assertThat(o.status()).isEqualTo("removed"));
        assertThat(released).containsExactly(id);
    }

    @Test
    void aStopReleasesTheContainerAndAStartProcessedAfterItsStopAppliesNothing() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");

        reconciler.stopped(event("c1", "task-1", ContainerEvent.CONTAINER_STOPPED));
        assertThat(reconciler.liveSet().size()).isZero();
        assertThat(released).containsExactly("c1");

        Instant stop = Instant.parse("2026-12-01T10:00:00Z");
        reconciler.stopped(event("c2", "task-1", ContainerEvent.CONTAINER_STOPPED, stop));
        enforcer.calls.clear();
        // the start occurred before the stop (reordered or replayed), and is processed after it
        EnforcementResult late = reconciler.started(event("c2", "task-1", ContainerEvent.CONTAINER_STARTED,
                        stop.minusSeconds(1)),
                () -> {
                    throw new AssertionError("must not enforce a stopped container");
                });
        assertThat(late.status()).isEqualTo("skipped");
        assertThat(late.error().code()).isEqualTo("CONTAINER_NOT_FOUND");
        assertThat(reconciler.liveSet().get("c2")).isEmpty();
        assertThat(enforcer.calls).isEmpty();
    }

    @Test
    void aStepOfTheWallClockBeyondTheStopsHourDoesNotMakeALateStartOfTheStoppedContainerEnforceable() throws Exception {
        policies.put("task-1", ALLOW_A);
        Instant stop = Instant.parse("2026-12-01T10:00:00Z");
        reconciler.stopped(event("c4", "task-1", ContainerEvent.CONTAINER_STOPPED, stop));
        wall.stepOnEveryRead(java.time.Duration.ofHours(2)); // the stop is remembered for an hour of steady time

        EnforcementResult late = reconciler.started(event("c4", "task-1", ContainerEvent.CONTAINER_STARTED,
                stop.minusSeconds(1)), () -> {
                    throw new AssertionError("must not enforce a stopped container");
                });

        assertThat(late.status()).isEqualTo("skipped");
        assertThat(late.error().code()).isEqualTo("CONTAINER_NOT_FOUND");
    }

    @Test
    void aStartThatOccurredAfterTheStopOfTheSameIdIsEnforcedNotRefused() throws Exception {
        // podman stop then podman start: the same container id starts again after its stop event;
        // refusing it for the stop's memory window would leave the restarted workload unfenced
        policies.put("task-1", ALLOW_A);
        Instant stop = Instant.parse("2026-12-01T10:00:00Z");
        reconciler.stopped(event("c3", "task-1", ContainerEvent.CONTAINER_STOPPED, stop));
        enforcer.calls.clear();
        ContainerEvent restart = event("c3", "task-1", ContainerEvent.CONTAINER_STARTED, stop.plusSeconds(1));
        var req = request("c3", PID, "task-1");
        EnforcementResult again = reconciler.started(restart, () -> enforcer.enforce(req));
        assertThat(again.status()).isEqualTo("applied");
        assertThat(enforcer.calls).containsExactly("enforce c3");
        reconciler.published(EVENT_OUTCOMES.of(restart, again, false));
        EnforcementResult sameInstant = reconciler.started(event("c3", "task-1", ContainerEvent.CONTAINER_STARTED,
                stop), () -> {
                    throw new AssertionError("a start no later than the stop must not be enforced");
                });
        assertThat(sameInstant.status()).isEqualTo("skipped");
    }

    @Test
    void aRestartWithANewPidInTheSameSecondAsItsStopIsEnforcedNotTakenForALateStart() throws Exception {
        // podman restart: stop and start stamped to the second (the contract allows it), the start a new pid
        policies.put("task-1", ALLOW_A);
        start("c4", "task-1");
        Instant second = Instant.parse("2026-12-04T10:00:00Z");
        reconciler.stopped(event("c4", "task-1", ContainerEvent.CONTAINER_STOPPED, second));
        int restartedPid = restartedIn(PID + 1);
        enforcer.calls.clear();
        ContainerEvent restart = new ContainerEvent(1, ContainerEvent.CONTAINER_STARTED, "ev-c4-again", second,
                "node-1", "task-1", "c4", null, restartedPid);
        var req = request("c4", restartedPid, "task-1");

        EnforcementResult again = reconciler.started(restart, () -> enforcer.enforce(req));

        assertThat(again.status()).isEqualTo("applied");
        assertThat(enforcer.calls).containsExactly("enforce c4");
        assertThat(reconciler.liveSet().get("c4")).hasValueSatisfying(c -> assertThat(c.pid()).isEqualTo(restartedPid));
    }

    @Test
    void aContainerReleasedAtAResyncIsEnforcedAgainWhenTheSameIdStartsAgain() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        Files.delete(nsFile); // its pid left the namespace: gone, or restarted (podman restart keeps the id)
        reconciler.resyncNow();
        assertThat(reconciler.liveSet().get("c1")).isEmpty();

        Files.writeString(nsFile, "");
        NamespaceId restarted = NamespaceId.of(nsFile);
        enforcer.device = restarted.device();
        enforcer.inode = restarted.inode();
        enforcer.calls.clear();
        start("c1", "task-1"); // asserts applied: a release at a resync is not a stop
        assertThat(enforcer.calls).containsExactly("enforce c1");
        assertThat(reconciler.liveSet().get("c1")).isPresent();
    }

    @Test
    void aHookCallForTheInstanceEnforcedAlreadyChangesNothing() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        enforcer.calls.clear();

        EnforcementResult answer = reconciler.fence("c1", PID, null);

        assertThat(answer.status()).isEqualTo("applied");
        assertThat(enforcer.calls).isEmpty();
    }

    @Test
    void aHookCallForTheInstanceWhosePolicyIsNotInForceFencesItInsteadOfAnsweringApplied() throws Exception {
        // its last apply failed without a quarantine (--on-failure leave): its namespace holds whatever it held
        reconciler.liveSet().restore(new LiveContainer("c1", "task-1", "node-1", null, PID, NamespaceId.of(nsFile), null,
                "digest", "RULES_REJECTED", false, "nft", Map.of(), Instant.now()));

        EnforcementResult answer = reconciler.fence("c1", PID, null);

        assertThat(answer.quarantined()).as("a container whose policy is not in force does not start open").isTrue();
        assertThat(enforcer.calls).startsWith("fence c1");
    }

    @Test
    void aHookCallForAPodMemberRefusedNamespaceSharedDoesNotFenceTheNamespaceAnotherMembersPolicyGoverns()
            throws Exception {
        refusedWhereAnotherMembersPolicyIsInForce("c1");

        EnforcementResult answer = reconciler.fence("c1", PID, null);

        assertThat(answer.status()).isEqualTo("applied");
        assertThat(enforcer.calls).as("no fence to cut the member whose policy is in force").isEmpty();
    }

    @Test
    void aPodMemberRefusedNamespaceSharedStartedAgainInThePodsNamespaceIsNotFencedAndFollowsItsNewPid()
            throws Exception {
        // before, the restart (a new pid, its stop not processed yet) was fenced: the quarantine cut the pod
        refusedWhereAnotherMembersPolicyIsInForce("c1");
        int restartedPid = PID + 4;
        Path restartedNs = Files.createDirectories(proc.resolve(restartedPid + "/ns")).resolve("net");
        Files.createLink(restartedNs, nsFile);

        EnforcementResult answer = reconciler.fence("c1", restartedPid, null);

        assertThat(answer.status()).isEqualTo("applied");
        assertThat(enforcer.calls).as("no fence to cut the member whose policy is in force").isEmpty();
        assertThat(reconciler.liveSet().get("c1")).hasValueSatisfying(c -> {
            assertThat(c.pid()).isEqualTo(restartedPid);
            assertThat(c.errorCode()).isEqualTo("NAMESPACE_SHARED");
        });
    }

    /** {@code id} of task-2 at PID, refused NAMESPACE_SHARED where c0's policy is in force. */
    private void refusedWhereAnotherMembersPolicyIsInForce(String id) throws Exception {
        reconciler.liveSet().restore(new LiveContainer(id, "task-2", "node-1", null, PID, NamespaceId.of(nsFile), null,
                "digest", "NAMESPACE_SHARED", false, "nft", Map.of(), Instant.now()));
        enforcer.enforcedForAnother = true;
    }

    @Test
    void aHookCallForANewPodMemberJoiningANamespaceAnotherMembersPolicyGovernsDoesNotFenceIt() throws Exception {
        // before, the new member's fence wrote the quarantine over the namespace: the pod was cut until a resync
        policies.put("task-1", ALLOW_A);
        start("c0", "task-1"); // c0's policy is in force in the namespace PID is in
        enforcer.enforcedForAnother = true;
        enforcer.calls.clear();

        EnforcementResult answer = reconciler.fence("c1", PID, null);

        assertThat(answer.status()).isEqualTo("applied");
        assertThat(enforcer.calls).as("no fence over the policy in force").isEmpty();
        assertThat(reconciler.liveSet().get("c1")).as("its event applies or refuses it as any other").isEmpty();
    }

    @Test
    void aHookCallForANewPodMemberIsNotFencedWhileTheOwnersFirstApplyIsUnderWay() throws Exception {
        // claimed, not in the live set yet: a fence landing after the owner's write would cut the pod until a resync
        enforcer.enforcedForAnother = true;

        EnforcementResult answer = reconciler.fence("c1", PID, null);

        assertThat(answer.status()).isEqualTo("applied");
        assertThat(enforcer.calls).isEmpty();
    }

    @Test
    void aHookCallForANewPodMemberIsNotFencedWhereOneMemberIsInForceThoughAnotherFailed() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c0", "task-1"); // in force
        reconciler.liveSet().restore(new LiveContainer("c2", "task-1", "node-1", null, PID, NamespaceId.of(nsFile), null,
                "digest", "FIREWALL_UNAVAILABLE", false, "nft", Map.of(), Instant.now())); // its update failed, left
        enforcer.enforcedForAnother = true;
        enforcer.calls.clear();

        EnforcementResult answer = reconciler.fence("c1", PID, null);

        assertThat(answer.status()).isEqualTo("applied");
        assertThat(enforcer.calls).as("c0's rules stay").isEmpty();
    }

    @Test
    void aHookCallForANewPodMemberIsFencedWhereTheOwnersPolicyIsClaimedButNotInForce() throws Exception {
        // the owner's apply failed with --on-failure leave: its claim stands, its rules were never written
        reconciler.liveSet().restore(new LiveContainer("c0", "task-1", "node-1", null, PID, NamespaceId.of(nsFile), null,
                "digest", "FIREWALL_UNAVAILABLE", false, "nft", Map.of(), Instant.now()));
        enforcer.enforcedForAnother = true;

        EnforcementResult answer = reconciler.fence("c1", PID, null);

        assertThat(answer.quarantined()).isTrue();
        assertThat(enforcer.calls).containsExactly("fence c1");
    }

    @Test
    void aHookCallForANewContainerInANamespaceNoOtherPolicyGovernsIsFenced() throws Exception {
        EnforcementResult answer = reconciler.fence("c1", PID, null);

        assertThat(answer.quarantined()).isTrue();
        assertThat(enforcer.calls).containsExactly("fence c1");
    }

    @Test
    void aHookCallForARestartOfAnEnforcedContainerFencesTheNewInstanceAndAppliesItsTasksPolicyAtOnce()
            throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        int restartedPid = restartedIn(PID + 1); // the same id started again: another pid, another namespace, no stop processed
        enforcer.calls.clear();

        EnforcementResult fenced = reconciler.fence("c1", restartedPid, null);

        assertThat(fenced.quarantined()).as("the new instance is fenced, not waved through").isTrue();
        await().atMost(Duration.ofSeconds(10)).until(() -> !published.isEmpty());
        assertThat(enforcer.calls).containsExactly("fence c1", "enforce c1");
        assertThat(published).singleElement().satisfies(o -> {
            assertThat(o.status()).isEqualTo("applied");
            assertThat(o.trigger()).isEqualTo("policy-update");
        });
        assertThat(reconciler.liveSet().get("c1")).hasValueSatisfying(c -> {
            assertThat(c.pid()).isEqualTo(restartedPid);
            assertThat(c.taskId()).isEqualTo("task-1");
            assertThat(c.inForce()).isTrue();
        });
    }

    @Test
    void theStopOfTheEarlierInstanceProcessedAfterTheHookFencedARestartLeavesTheRestartEnforced() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        int restartedPid = restartedIn(PID + 1);
        reconciler.fence("c1", restartedPid, null);
        await().atMost(Duration.ofSeconds(10)).until(() -> !published.isEmpty());

        reconciler.stopped(event("c1", "task-1", ContainerEvent.CONTAINER_STOPPED)); // the earlier pid's stop

        assertThat(reconciler.liveSet().get("c1")).hasValueSatisfying(c -> assertThat(c.pid()).isEqualTo(restartedPid));
        assertThat(released).isEmpty();
    }

    @Test
    void aStopWithoutPidThatOccurredBeforeTheRunningInstanceStartedReleasesNothingAndOneAfterItReleases()
            throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1"); // its start occurred now
        Instant started = reconciler.liveSet().get("c1").orElseThrow().startedAt();
        assertThat(started).isNotNull();

        // a replay of an earlier window, or a late stop: it is of an earlier instance under the same id
        assertThat(reconciler.stopped(pidlessStop("c1", "task-1", started.minusSeconds(600))))
                .hasValueSatisfying(why -> assertThat(why).contains("earlier instance of container c1", "stays enforced"));
        assertThat(reconciler.stopped(pidlessStop("c1", "task-1", started))).isPresent();
        assertThat(reconciler.liveSet().get("c1")).isPresent();
        assertThat(released).isEmpty();

        assertThat(reconciler.stopped(pidlessStop("c1", "task-1", started.plusMillis(1)))).isEmpty();
        assertThat(reconciler.liveSet().get("c1")).isEmpty();
        assertThat(released).containsExactly("c1");
    }

    @Test
    void aReplayedStartWithoutPidOfAnEarlierInstanceAppliesNothingSoItsStopLeavesTheRunningInstanceEnforced()
            throws Exception {
        // podman start brought c1 back as the running instance; a replay of an earlier window brings the
        // first instance's start and stop, both without pid: applied, the old start put its start time on
        // the running instance's entry, and the old stop then released the running instance
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        Instant started = reconciler.liveSet().get("c1").orElseThrow().startedAt();
        enforcer.calls.clear();
        ContainerEvent replayed = new ContainerEvent(1, ContainerEvent.CONTAINER_STARTED, "ev-c1-first",
                started.minusSeconds(600), "node-1", "task-1", "c1", null, null);

        EnforcementResult r = reconciler.started(replayed, () -> {
            throw new AssertionError("a start of an earlier instance must not be enforced on the running one");
        });

        assertThat(r.status()).isEqualTo("skipped");
        assertThat(r.error().message()).contains("runs as a later instance (pid " + PID);
        assertThat(reconciler.liveSet().get("c1").orElseThrow().startedAt()).isEqualTo(started);
        assertThat(reconciler.stopped(pidlessStop("c1", "task-1", started.minusSeconds(300)))).isPresent();
        assertThat(reconciler.liveSet().get("c1")).isPresent();
        assertThat(released).isEmpty();
    }

    @Test
    void aStartOfANewInstanceIsEnforcedThoughAnEntryOfADeadInstanceRecordsALaterStart() throws Exception {
        // the first instance's start was stamped ahead (an emitter's clock), the instance exited and no stop
        // came; the next instance's start, stamped right, is earlier than that entry's start: not skipped
        // for "a later instance" that no longer runs, which the next resync would release, leaving it open
        policies.put("task-1", ALLOW_A);
        reconciler.started(new ContainerEvent(1, ContainerEvent.CONTAINER_STARTED, "ev-c1-ahead",
                Instant.now().plusSeconds(60), "node-1", "task-1", "c1", null, PID),
                () -> enforcer.enforce(request("c1", PID, "task-1")));
        Files.delete(nsFile);
        Files.delete(nsFile.getParent());
        Files.delete(proc.resolve(Integer.toString(PID)));
        int next = restartedIn(PID + 7);
        enforcer.calls.clear();
        ContainerEvent start = new ContainerEvent(1, ContainerEvent.CONTAINER_STARTED, "ev-c1-next", Instant.now(),
                "node-1", "task-1", "c1", null, next);

        EnforcementResult r = reconciler.started(start, () -> enforcer.enforce(request("c1", next, "task-1")));

        assertThat(r.status()).as("%s", r).isEqualTo("applied");
        assertThat(enforcer.calls).containsExactly("enforce c1");
        assertThat(reconciler.liveSet().get("c1")).hasValueSatisfying(c -> assertThat(c.pid()).isEqualTo(next));
    }

    @Test
    void aReplayedStartWithoutPidOlderThanTheProcessTheHookFencedDoesNotGiveItAStartItsOldStopWouldRelease()
            throws Exception {
        // the runtime restarted c1 (the hook fenced the new process; no start event of its own came); a
        // replay brings the first instance's start and stop, without pid: the start is applied to the
        // running process, whose start time must stay its own, so the old stop releases nothing
        Instant boot = Instant.parse("2026-12-05T00:00:00Z");
        Files.writeString(proc.resolve("stat"), "cpu  1 2 3 4\nbtime " + boot.getEpochSecond() + "\n");
        Files.writeString(proc.resolve(PID + "/stat"), PID + " (sleep) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 "
                + 360_000 + " 0 0\n"); // 3,600 s after boot
        Instant processStart = boot.plusSeconds(3601).plusMillis(10); // rounded up: btime's second, one tick
        policies.put("task-1", ALLOW_A);
        assertThat(reconciler.fence("c1", PID, null).quarantined()).isTrue();
        ContainerEvent replayed = new ContainerEvent(1, ContainerEvent.CONTAINER_STARTED, "ev-c1-first",
                processStart.minusSeconds(600), "node-1", "task-1", "c1", null, null);
        var req = request("c1", PID, "task-1");

        assertThat(reconciler.started(replayed, () -> enforcer.enforce(req)).status()).isEqualTo("applied");

        assertThat(reconciler.liveSet().get("c1").orElseThrow().startedAt()).isEqualTo(processStart);
        assertThat(reconciler.stopped(pidlessStop("c1", "task-1", processStart.minusSeconds(300)))).isPresent();
        assertThat(reconciler.liveSet().get("c1")).isPresent();
        assertThat(released).isEmpty();
    }

    @Test
    void aLateStartOfTheRunningInstanceItselfIsEnforcedButDoesNotMoveItsStartBack() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        Instant started = reconciler.liveSet().get("c1").orElseThrow().startedAt();
        ContainerEvent again = event("c1", "task-1", ContainerEvent.CONTAINER_STARTED, started.minusSeconds(600));
        var req = request("c1", PID, "task-1");

        assertThat(reconciler.started(again, () -> enforcer.enforce(req)).status()).isEqualTo("applied");

        assertThat(reconciler.liveSet().get("c1").orElseThrow().startedAt()).isEqualTo(started);
        assertThat(reconciler.stopped(pidlessStop("c1", "task-1", started.minusSeconds(300)))).isPresent();
        assertThat(released).isEmpty();
    }

    @Test
    void aStopWithoutPidOfTheInstanceBeforeARestartTheHookFencedLeavesTheRestartEnforced() throws Exception {
        policies.put("task-1", ALLOW_A);
        Instant before = Instant.now().minusMillis(1);
        start("c1", "task-1");
        int restartedPid = restartedIn(PID + 1);
        reconciler.fence("c1", restartedPid, null); // restarted by the runtime: no start event
        await().atMost(Duration.ofSeconds(10)).until(() -> !published.isEmpty());

        reconciler.stopped(pidlessStop("c1", "task-1", before));
        // the emitter's clock ahead of netfence's: its stop of the earlier instance seems to follow the fence
        reconciler.stopped(pidlessStop("c1", "task-1", Instant.now().plusSeconds(5)));

        assertThat(reconciler.liveSet().get("c1")).hasValueSatisfying(c -> assertThat(c.pid()).isEqualTo(restartedPid));
        assertThat(released).isEmpty();
    }

    @Test
    void aStopWithoutPidOfAnEntryWhoseStartNoEventToldIsKeptWhileItsPidIsThereAndReleasedByTheResyncOnceGone()
            throws Exception {
        reconciler.liveSet().restore(new LiveContainer("c9", "task-1", "node-1", null, PID, NamespaceId.of(nsFile), null,
                null, null, false, "nft", Map.of(), Instant.now())); // an entry of an older version, or a hook fence

        assertThat(reconciler.stopped(pidlessStop("c9", "task-1", Instant.now().plusSeconds(3600))))
                .hasValueSatisfying(why -> assertThat(why).contains("until a resync finds it gone"));
        assertThat(reconciler.liveSet().get("c9")).isPresent();
        assertThat(released).isEmpty();

        Files.delete(nsFile); // the process is gone
        reconciler.resyncNow();
        assertThat(reconciler.liveSet().get("c9")).isEmpty();
        assertThat(released).containsExactly("c9");
    }

    @Test
    void aHookCallForAnotherPidInTheNamespaceEnforcedAlreadyKeepsItsRulesAndFollowsThatPid() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        int memberPid = PID + 2; // a pod's member started again in the pod's namespace
        Path memberNs = Files.createDirectories(proc.resolve(memberPid + "/ns")).resolve("net");
        Files.createLink(memberNs, nsFile);
        enforcer.calls.clear();

        EnforcementResult answer = reconciler.fence("c1", memberPid, null);

        assertThat(answer.status()).isEqualTo("applied");
        assertThat(enforcer.calls).as("no fence to cut the pod's other members").isEmpty();
        assertThat(reconciler.liveSet().get("c1")).hasValueSatisfying(c -> {
            assertThat(c.pid()).isEqualTo(memberPid);
            assertThat(c.inForce()).isTrue();
        });
    }

    @Test
    void aHookCallForARestartWhoseNewNamespaceWasGivenTheOldOnesInodeFencesItAndAppliesThePolicyAtOnce()
            throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        // the instance exited and its namespace went; the kernel handed the freed inode to the new
        // instance's namespace (iptables and nft-process keep nothing open in a namespace)
        int restartedPid = PID + 3;
        Path restartedNs = Files.createDirectories(proc.resolve(restartedPid + "/ns")).resolve("net");
        Files.move(nsFile, restartedNs);
        Files.delete(nsFile.getParent());
        Files.delete(proc.resolve(Integer.toString(PID)));
        enforcer.calls.clear();

        EnforcementResult answer = reconciler.fence("c1", restartedPid, null);

        assertThat(answer.quarantined()).as("a namespace no live process vouches for is fenced, not waved through")
                .isTrue();
        await().atMost(Duration.ofSeconds(10)).until(() -> !published.isEmpty());
        assertThat(enforcer.calls).containsExactly("fence c1", "enforce c1");
        assertThat(reconciler.liveSet().get("c1")).hasValueSatisfying(c -> {
            assertThat(c.pid()).isEqualTo(restartedPid);
            assertThat(c.inForce()).isTrue();
        });
    }

    @Test
    void aHookFenceIsKeptUntilTheStartEventReplacesIt() throws Exception {
        EnforcementResult fenced = reconciler.fence("c1", PID, null);
        assertThat(fenced.quarantined()).isTrue();
        assertThat(reconciler.liveSet().get("c1")).hasValueSatisfying(c -> assertThat(c.taskId()).isNull());

        reconciler.resyncNow();
        assertThat(enforcer.calls).containsExactly("fence c1", "recheckQuarantine c1 POLICY_NOT_FOUND");
        enforcer.drift = "table inet netfence is missing";
        reconciler.resyncNow();
        assertThat(registry.get("netfence.drift.repairs").tag("backend", "iptables-nft").counter().count())
                .isEqualTo(1.0);
        assertThat(published).as("a fenced container has no task to report for").isEmpty();

        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        assertThat(reconciler.liveSet().get("c1")).hasValueSatisfying(c -> {
            assertThat(c.taskId()).isEqualTo("task-1");
            assertThat(c.inForce()).isTrue();
        });
        assertThat(published).isEmpty();
    }
}
