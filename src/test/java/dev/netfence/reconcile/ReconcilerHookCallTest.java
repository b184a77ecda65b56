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
 * What the reconciler answers the OCI hook's call for a container's process (a fake enforcer and
 * policy store): the instance already enforced changes nothing, while one whose policy is not in
 * force, a new container or a restart is fenced (a restart then gets its task's policy at once,
 * a new container's fence is kept until its start event replaces it), and a pod member joining a
 * namespace whose policy another member holds in force is not fenced over it.
 */
class ReconcilerHookCallTest extends ReconcilerFixture {
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
        assertThat(enforcer.calls).as("no fence over the policy in force, nothing read at its hook").isEmpty();
        assertThat(reconciler.liveSet().get("c1")).as("recorded as fenced, without a task, nothing written")
                .hasValueSatisfying(c -> {
                    assertThat(c.taskId()).isNull();
                    assertThat(c.quarantined()).isTrue();
                });
        steady.stepOnEveryRead(HookSettling.SETTLE); // a resync past its hook's settling time
        reconciler.resyncNow();
        steady.stepOnEveryRead(java.time.Duration.ZERO);
        assertThat(enforcer.calls).as("left alone while another member's policy governs").doesNotContain(
                "recheckQuarantine c1 POLICY_NOT_FOUND", "fence c1");
        assertThat(enforcer.calls).as("what it holds read once it runs").contains("joined c1");

        start("c1", "task-1"); // its event applies it as any other
        assertThat(reconciler.liveSet().get("c1")).hasValueSatisfying(c -> assertThat(c.taskId()).isEqualTo("task-1"));
    }

    @Test
    void aPodMemberLetThroughByTheHookWithoutAnEventIsFencedOnceNoMembersPolicyGovernsItsNamespace() throws Exception {
        // the namespace outlives the member whose policy governed it (--network ns:PATH): before, the joiner was never
        // recorded and kept that member's rules, unmaintained, for as long as it ran
        policies.put("task-1", ALLOW_A);
        start("c0", "task-1");
        enforcer.enforcedForAnother = true;
        reconciler.fence("c1", PID, null);
        enforcer.enforcedForAnother = false; // c0 gone: nobody's policy governs the namespace
        enforcer.calls.clear();

        reconciler.resyncNow();

        assertThat(enforcer.calls).contains("recheckQuarantine c1 POLICY_NOT_FOUND");
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
        assertThat(enforcer.calls).as("right after its hook: its capabilities not read yet (the runtime drops them next)")
                .containsExactly("fence c1", "recheckQuarantine c1 POLICY_NOT_FOUND");
        steady.stepOnEveryRead(HookSettling.SETTLE);
        reconciler.resyncNow();
        steady.stepOnEveryRead(java.time.Duration.ZERO);
        assertThat(enforcer.calls).as("then read for its namespace's other members at each resync, its fence re-asserted")
                .containsExactly("fence c1", "recheckQuarantine c1 POLICY_NOT_FOUND", "joined c1",
                        "recheckQuarantine c1 POLICY_NOT_FOUND");
        reconciler.resyncNow(); // right after the last resync: settled since its hook, so read at every resync
        assertThat(enforcer.calls.stream().filter("joined c1"::equals)).hasSize(2);
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

    @Test
    void aHookFenceOfARestartMadeBeforeTheFirstStartEventWasProcessedLearnsItsTaskFromThatEventAndGetsItsPolicy()
            throws Exception {
        // helper 183 F3: instance 1 crashed and its runtime started instance 2 (fenced by the hook, no task) before
        // instance 1's start event was processed; that event finds its pid gone, and no event comes for instance 2
        policies.put("task-1", ALLOW_A);
        int second = restartedIn(PID + 1);
        assertThat(reconciler.fence("c1", second, null).quarantined()).isTrue();
        ContainerEvent first = new ContainerEvent(1, ContainerEvent.CONTAINER_STARTED, "ev-c1-first", Instant.now(),
                "node-1", "task-1", "c1", null, PID, "/run/netns/netns-of-instance-1"); // its runtime removed that path
        // the enforcer's answer for instance 1's pid, gone; not through the fake's gone flag, which the correction the
        // fence scheduled (once its hook settled) could meet too on a slow machine and release the fence (CI of feb44ee)
        assertThat(reconciler.started(first, () -> dev.netfence.core.EnforcementResult.skip(
                dev.netfence.core.ErrorCode.CONTAINER_NOT_FOUND, "pid " + PID + " is gone").build()).status())
                .isEqualTo("skipped");

        reconciler.resyncNow(); // (or the correction of task-1's policy, stored above, if that comes later)

        await().atMost(Duration.ofSeconds(10)).until(() -> reconciler.liveSet().get("c1").map(LiveContainer::inForce)
                .orElse(false));
        assertThat(reconciler.liveSet().get("c1")).hasValueSatisfying(c -> {
            assertThat(c.pid()).isEqualTo(second);
            assertThat(c.taskId()).isEqualTo("task-1");
        });
        assertThat(enforcer.lastNetns).as("not the earlier instance's namespace path (helper 184)").isNull();
    }

    @Test
    void aRestartFencedByTheHookKeepsTheRuntimeAndRecordsTheRuntimesPathOfItsNewNamespace() throws Exception {
        // before, the fence's entry had no path and the hook's runtime (none for podman): a second restart while
        // netfence was down was taken for a moved pid (NAMESPACE_MISMATCH) instead of a restart (review 204)
        policies.put("task-1", ALLOW_A);
        Path runtimeDir = Files.createDirectories(proc.resolve("run-netns"));
        Files.createLink(runtimeDir.resolve("netns-old"), nsFile);
        reconciler.liveSet().restore(new LiveContainer("c1", "task-1", "node-1", "podman", PID, NamespaceId.of(nsFile),
                runtimeDir.resolve("netns-old").toString(), "digest", null, false, "nft", Map.of(), Instant.now()));
        int restartedPid = restartedIn(PID + 1);
        Files.createLink(runtimeDir.resolve("netns-new"), proc.resolve(restartedPid + "/ns/net"));

        EnforcementResult fenced = reconciler.fence("c1", restartedPid, null);

        assertThat(fenced.quarantined()).isTrue();
        assertThat(reconciler.liveSet().get("c1")).hasValueSatisfying(c -> {
            assertThat(c.pid()).isEqualTo(restartedPid);
            assertThat(c.runtime()).as("the event's runtime, the hook naming none").isEqualTo("podman");
            assertThat(c.netnsPath()).isEqualTo(runtimeDir.resolve("netns-new").toString());
        });
    }
}
