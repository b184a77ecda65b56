package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.core.EnforcementResult;
import dev.netfence.event.ContainerEvent;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * The reconciler's corrections with a fake enforcer and policy store: which it makes for policy
 * changes, read-back drift (of the rules and of a quarantine) and re-resolution, which outcomes
 * it publishes for them (and when it publishes none), and that a correction's outcome waits for
 * the outcome of the event before it. That resyncs go on through errors, hanging checks and
 * policy-update storms is {@link ReconcilerResyncLoopTest}'s.
 */
class ReconcilerTest extends ReconcilerFixture {
    private static final String ALLOW_A_PORT_81 = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.18.0.2:81\"]}";

    @Test
    void thePipelineLearnsWhenWhatAStartOrAStopRecordedIsInTheJournal() throws Exception {
        policies.put("task-1", ALLOW_A);
        CompletableFuture<Void> write = new CompletableFuture<>();
        journalUnsettled.put("c1", write);
        start("c1", "task-1");

        assertThat(reconciler.journaled("c1")).isSameAs(write).isNotDone();
        write.complete(null);
        journalUnsettled.remove("c1");
        assertThat(reconciler.journaled("c1")).isDone();
    }

    @Test
    void aPolicyReadBeforeTheStoreCaughtUpIsAppliedByTheFirstResyncAfterItNotAtOnce() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        enforcer.calls.clear();
        policies.caughtUp = false; // as at a start: a newer record of the task may come later in the read

        policies.put("task-1", ALLOW_A_PORT_81);
        Thread.sleep(300);
        assertThat(enforcer.calls).as("nothing applied from a partial read").isEmpty();

        policies.caughtUp = true;
        reconciler.resyncNow();
        assertThat(enforcer.calls).containsExactly("enforce c1");
        assertThat(published).singleElement().satisfies(o -> assertThat(o.trigger()).isEqualTo("policy-update"));
    }

    @Test
    void aNewPolicyVersionIsAppliedToTheTasksLiveContainersWithAPolicyUpdateOutcome() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        start("c2", "task-1");
        enforcer.calls.clear();

        policies.put("task-1", ALLOW_A_PORT_81);

        await().atMost(Duration.ofSeconds(10)).until(() -> published.size() == 2);
        assertThat(enforcer.calls).containsExactlyInAnyOrder("enforce c1", "enforce c2");
        assertThat(published).allSatisfy(o -> {
            assertThat(o.trigger()).isEqualTo("policy-update");
            assertThat(o.status()).isEqualTo("applied");
            assertThat(o.eventId()).isNull();
            assertThat(o.taskId()).isEqualTo("task-1");
        });
    }

    @Test
    void aPolicyUpdateAlsoRetriesThePodMembersOfOtherTasksThatWereRefusedForTheDigestItBrings() throws Exception {
        policies.put("task-1", ALLOW_A);
        policies.put("task-2", ALLOW_A_PORT_81);
        policies.put("task-3", ALLOW_A);
        start("c1", "task-1");
        // c2, of task-2, in c1's namespace: its apply of ALLOW_A_PORT_81 was refused NAMESPACE_SHARED (c1 held
        // ALLOW_A); c3, refused for ALLOW_A_PORT_81 in another namespace, and c4, refused in c1's namespace for
        // a digest task-1 will not have, have nothing to gain from task-1's update
        String allowB = digestOf(ALLOW_A_PORT_81);
        dev.netfence.netns.NamespaceId pod = dev.netfence.netns.NamespaceId.of(nsFile);
        reconciler.liveSet().restore(refused("c2", "task-2", pod, allowB));
        reconciler.liveSet().restore(refused("c3", "task-2",
                new dev.netfence.netns.NamespaceId(pod.device(), pod.inode() + 1), allowB));
        reconciler.liveSet().restore(refused("c4", "task-3", pod, "sha256:" + "c".repeat(64)));
        enforcer.calls.clear();

        policies.put("task-1", ALLOW_A_PORT_81); // task-1 now has the policy c2 was refused for

        // (a pause before the first look, so a wrong third call would be there to see)
        await().pollDelay(Duration.ofMillis(300)).atMost(Duration.ofSeconds(10)).until(() -> enforcer.calls.size() >= 2);
        assertThat(enforcer.calls).containsExactlyInAnyOrder("enforce c1", "enforce c2");
        assertThat(reconciler.liveSet().refusedIn(pod)).extracting(LiveContainer::containerId).as("c2 applied now")
                .containsExactly("c4");
        assertThat(published).filteredOn(o -> o.containerId().equals("c2")).singleElement()
                .satisfies(o -> assertThat(o.trigger()).as("its own policy did not change").isEqualTo("drift"));
        enforcer.calls.clear();

        policies.put("task-1", ALLOW_A_PORT_81); // the same policy again: nothing for the others
        await().pollDelay(Duration.ofMillis(300)).until(() -> true);
        assertThat(enforcer.calls).as("c1 in force with the same digest, the others not for it").isEmpty();
    }

    @Test
    void aPodMemberRefusedNamespaceSharedAtItsFirstStartIsTrackedAndRetriedWhenAnUpdateBringsItsDigest()
            throws Exception {
        policies.put("task-1", ALLOW_A);
        policies.put("task-2", ALLOW_A_PORT_81);
        start("c1", "task-1");
        String allowB = digestOf(ALLOW_A_PORT_81);
        dev.netfence.netns.NamespaceId pod = dev.netfence.netns.NamespaceId.of(nsFile);
        // c2's start, in c1's namespace: refused for another member's policy, nothing written, quarantined not
        ContainerEvent start = event("c2", "task-2", ContainerEvent.CONTAINER_STARTED);
        EnforcementResult refused = reconciler.started(start, () -> EnforcementResult
                .failure(dev.netfence.core.ErrorCode.NAMESPACE_SHARED, "the network namespace ... is enforced for c1")
                .policyDigest(allowB).target(new dev.netfence.core.EnforcementTarget(PID, pod.device(), pod.inode()))
                .build());
        reconciler.published(EVENT_OUTCOMES.of(start, refused, false));

        assertThat(reconciler.liveSet().get("c2")).as("tracked, not forgotten").hasValueSatisfying(c -> {
            assertThat(c.errorCode()).isEqualTo("NAMESPACE_SHARED");
            assertThat(c.policyDigest()).isEqualTo(allowB);
            assertThat(c.quarantined()).isFalse();
        });
        assertThat(reconciler.liveSet().refusedIn(pod)).extracting(LiveContainer::containerId).containsExactly("c2");
        enforcer.calls.clear();

        policies.put("task-1", ALLOW_A_PORT_81); // task-1 now has the policy c2 was refused for

        await().atMost(Duration.ofSeconds(10)).until(() -> enforcer.calls.contains("enforce c2"));
        await().atMost(Duration.ofSeconds(10)).until(() -> reconciler.liveSet().refusedIn(pod).isEmpty());
    }

    private static String digestOf(String policyJson) {
        return dev.netfence.policy.PolicyDigest.of(new dev.netfence.policy.PolicyParser()
                .parse(policyJson.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }

    private static LiveContainer refused(String id, String task, dev.netfence.netns.NamespaceId netns, String digest) {
        return new LiveContainer(id, task, "node-1", null, PID, netns, null, digest, "NAMESPACE_SHARED", false, "nft",
                java.util.Map.of(), Instant.now());
    }

    @Test
    void aCheckAskedForByTheHostGuardReconcilesOnlyTheLiveContainersItNamesAndReportsNothingWithoutDrift()
            throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        start("c2", "task-1");
        enforcer.calls.clear();

        reconciler.checkSoon("c2"::equals);
        reconciler.checkSoon("gone"::equals);

        await().atMost(Duration.ofSeconds(10)).until(() -> enforcer.calls.contains("reconcile c2"));
        assertThat(enforcer.calls).containsExactly("reconcile c2");
        assertThat(published).isEmpty();
    }

    @Test
    void everyResyncWritesAgainWhatTheJournalFailedToWrite() throws Exception {
        int before = journalRetries.get();

        reconciler.resyncNow();
        reconciler.resyncNow();

        assertThat(journalRetries.get()).isEqualTo(before + 2);
    }

    @Test
    void theSamePolicyStoredAgainChangesNothingAndReportsNothing() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        enforcer.calls.clear();

        policies.put("task-1", ALLOW_A);
        reconciler.resyncNow();

        assertThat(enforcer.calls).containsExactly("reconcile c1");
        assertThat(published).isEmpty();
    }

    @Test
    void aDeletedPolicyQuarantinesAndAnInvalidOneToo() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");

        policies.delete("task-1");
        await().atMost(Duration.ofSeconds(10)).until(() -> published.size() == 1);
        assertThat(published.get(0).status()).isEqualTo("failed");
        assertThat(published.get(0).errorCode()).isEqualTo("POLICY_NOT_FOUND");
        assertThat(published.get(0).quarantined()).isTrue();
        assertThat(published.get(0).trigger()).isEqualTo("policy-update");

        policies.invalid("task-1");
        await().atMost(Duration.ofSeconds(10)).until(() -> published.size() == 2);
        assertThat(published.get(1).errorCode()).isEqualTo("INVALID_POLICY");

        policies.put("task-1", ALLOW_A_PORT_81);
        await().atMost(Duration.ofSeconds(10)).until(() -> published.size() == 3);
        assertThat(published.get(2).status()).isEqualTo("applied");
        assertThat(published.get(2).quarantined()).isFalse();
    }

    @Test
    void aResyncRepairsDriftReportsItAndCountsItByBackend() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        int writes = journalWrites.get();

        reconciler.resyncNow();
        assertThat(published).isEmpty();
        assertThat(journalWrites.get()).as("a clean check writes nothing").isEqualTo(writes);

        enforcer.drift = "ipv4: chain NETFENCE-OUT is missing";
        reconciler.resyncNow();

        assertThat(published).singleElement().satisfies(o -> {
            assertThat(o.trigger()).isEqualTo("drift");
            assertThat(o.status()).isEqualTo("applied");
        });
        assertThat(registry.get("netfence.drift.repairs").tag("backend", "iptables-nft").counter().count())
                .isEqualTo(1.0);
    }

    @Test
    void aQuarantineIsReadBackAtEachResyncAndRepairedOnlyWhenItDiffersWithADriftOutcome() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        policies.delete("task-1");
        await().atMost(Duration.ofSeconds(10)).until(() -> published.size() == 1);
        assertThat(published.get(0).quarantined()).isTrue();
        enforcer.calls.clear();
        int writes = journalWrites.get();

        reconciler.resyncNow();
        reconciler.resyncNow();
        assertThat(enforcer.calls).as("read back, never re-quarantined blindly")
                .containsExactly("recheckQuarantine c1 POLICY_NOT_FOUND", "recheckQuarantine c1 POLICY_NOT_FOUND");
        assertThat(published).hasSize(1);
        assertThat(journalWrites.get()).as("a clean check writes nothing").isEqualTo(writes);
        assertThat(registry.find("netfence.drift.repairs").counter()).isNull();

        enforcer.drift = "table inet netfence is missing";
        reconciler.resyncNow();

        assertThat(published).hasSize(2);
        assertThat(published.get(1)).satisfies(o -> {
            assertThat(o.trigger()).isEqualTo("drift");
            assertThat(o.status()).isEqualTo("failed");
            assertThat(o.errorCode()).isEqualTo("POLICY_NOT_FOUND");
            assertThat(o.quarantined()).isTrue();
        });
        assertThat(registry.get("netfence.drift.repairs").tag("backend", "iptables-nft").counter().count())
                .isEqualTo(1.0);
    }

    @Test
    void aCorrectionsOutcomeWaitsForTheOutcomeOfTheEventBeforeItToBePublished() throws Exception {
        policies.put("task-1", ALLOW_A);
        ContainerEvent ev = event("c1", "task-1", ContainerEvent.CONTAINER_STARTED);
        var req = request("c1", PID, "task-1");
        EnforcementResult started = reconciler.started(ev, () -> enforcer.enforce(req));

        policies.put("task-1", ALLOW_A_PORT_81); // corrected at once, while the start's outcome is not out yet
        await().atMost(Duration.ofSeconds(10)).until(() -> enforcer.calls.size() == 2);
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(published::isEmpty);

        reconciler.published(EVENT_OUTCOMES.of(ev, started, false));
        assertThat(published).singleElement().satisfies(o -> assertThat(o.trigger()).isEqualTo("policy-update"));
    }

    @Test
    void changedAddressesOfAHostnameAreReportedAsReResolve() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");

        enforcer.resolved = Map.of("pypi.internal", List.of("198.51.100.13"));
        enforcer.drift = "ipv4: NETFENCE-OUT rule 3 differs";
        reconciler.resyncNow();

        assertThat(published).singleElement().satisfies(o -> assertThat(o.trigger()).isEqualTo("re-resolve"));
        assertThat(registry.find("netfence.drift.repairs").counter()).isNull();
        reconciler.resyncNow();
        assertThat(published).hasSize(1);
    }

    @Test
    void aCorrectionsDeadlineIsSetOnTheSteadyClockSoAStepOfTheWallClockNeitherShortensNorStretchesIt() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        wall.stepOnEveryRead(Duration.ofHours(1));

        java.time.Instant before = dev.netfence.core.SteadyClock.system().instant();
        reconciler.resyncNow();
        java.time.Instant after = dev.netfence.core.SteadyClock.system().instant();

        assertThat(enforcer.deadlines).as("the resync's read-back of c1").singleElement().satisfies(d -> assertThat(d)
                .isBetween(before.plusSeconds(30), after.plusSeconds(30)));
    }

    @Test
    void aRepairsOutcomeStaysBehindItsEventsOutcomeThoughTheWallClockStepsPastTheHold() throws Exception {
        reconciler.close(); // only the reconciler below, which resyncs (and expires its holds) every 100 ms
        policies.put("task-1", ALLOW_A);
        try (Reconciler often = new Reconciler(reconciler.liveSet(), enforcer, policies, EVENT_OUTCOMES, published::add,
                HostGuards.NONE, wall, dev.netfence.core.SteadyClock.system(),
                new io.micrometer.core.instrument.simple.SimpleMeterRegistry(), "node-1", Duration.ofMillis(100), 1,
                Duration.ofSeconds(30), proc)) {
            ContainerEvent started = event("c1", "task-1", ContainerEvent.CONTAINER_STARTED);
            var req = request("c1", PID, "task-1");
            EnforcementResult r = often.started(started, () -> enforcer.enforce(req)); // its outcome not out yet
            wall.stepOnEveryRead(Duration.ofHours(1));
            enforcer.drift = "ipv4: chain NETFENCE-OUT is missing";
            often.start();

            await().atMost(Duration.ofSeconds(10)).until(() -> often.cycles() >= 3
                    && enforcer.calls.stream().anyMatch(c -> c.startsWith("reconcile c1")));
            assertThat(published).as("the repair's outcome, held behind the event's, which is not out").isEmpty();

            often.published(EVENT_OUTCOMES.of(started, r, false));
            assertThat(published).isNotEmpty().allSatisfy(o -> assertThat(o.trigger()).isEqualTo("drift"));
        }
    }

    @Test
    void aFailureAtAResyncIsRetriedAsAResyncSoTheResolverDownForTwoPassesQuarantinesNothing() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        enforcer.calls.clear();
        enforcer.refuse = dev.netfence.core.ErrorCode.RESOLUTION_FAILED; // the resolver times out

        reconciler.resyncNow();
        reconciler.resyncNow();

        assertThat(enforcer.calls).as("never an enforce, whose failure quarantines").containsExactly("reconcile c1",
                "reconcile c1");
        enforcer.refuse = null;
        reconciler.resyncNow();
        assertThat(reconciler.liveSet().get("c1")).hasValueSatisfying(c -> assertThat(c.inForce()).isTrue());
    }

    @Test
    void aPolicyUpdateThatLandsWhileAStartIsAppliedReachesTheContainerAtOnceNotAtTheNextResync() throws Exception {
        policies.put("task-1", ALLOW_A);
        ContainerEvent ev = event("c1", "task-1", ContainerEvent.CONTAINER_STARTED);
        var req = request("c1", PID, "task-1");

        EnforcementResult r = reconciler.started(ev, () -> {
            EnforcementResult applied = enforcer.enforce(req);
            policies.put("task-1", ALLOW_A.replace("198.18.0.2:80", "198.18.0.3:80")); // not in the live set yet
            return applied;
        });
        reconciler.published(EVENT_OUTCOMES.of(ev, r, false));

        await().atMost(Duration.ofSeconds(10)).until(() -> !published.isEmpty());
        assertThat(published).singleElement().satisfies(o -> assertThat(o.trigger()).isEqualTo("policy-update"));
        assertThat(enforcer.calls).containsExactly("enforce c1", "enforce c1");
    }
}
