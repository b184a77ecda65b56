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
 * be reached, and the owners and members of a restored live set. Stop and start events in either
 * order are {@link ReconcilerStartStopOrderTest}'s, the hook's calls {@link ReconcilerHookCallTest}'s.
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
    void aMemberRefusedForAnotherPolicyUnderTheHooksFenceIsRestoredAsNeitherOwnerNorQuarantinedMember() throws Exception {
        NamespaceId where = NamespaceId.of(nsFile); // where PID is
        reconciler.liveSet().restore(new LiveContainer("c1", "task-1", "node-1", null, PID, where, null, "sha256:aa",
                null, false, "nft", Map.of(), Instant.now()));
        // refused NAMESPACE_SHARED where no owner could be confirmed, and fenced: a member would lock c1's policy out
        reconciler.liveSet().restore(new LiveContainer("c2", "task-2", "node-1", null, PID, where, null, "sha256:bb",
                "NAMESPACE_SHARED", true, "nft", Map.of(), Instant.now()));
        enforcer.calls.clear();

        reconciler.restoreNamespaceOwners();

        assertThat(enforcer.calls).containsExactlyInAnyOrder("restoreNamespaceOwner c1 task-1 sha256:aa",
                "joined c1", "joined c2"); // both members of one namespace: what each holds read again
    }

    @Test
    void whatEachMemberOfASharedNamespaceHoldsIsReadAgainAtRestoreNotThatOfOneAloneOrOfOneWhosePidIsGone()
            throws Exception {
        NamespaceId where = NamespaceId.of(nsFile); // where PID is
        int otherPid = restartedIn(4343);
        NamespaceId its = new NamespaceId(enforcer.device, enforcer.inode);
        NamespaceId elsewhere = new NamespaceId(4, 4026530003L);
        reconciler.liveSet().restore(new LiveContainer("plain", "task-1", "node-1", null, PID, where, null, "sha256:aa",
                null, false, "nft", Map.of(), Instant.now()));
        reconciler.liveSet().restore(new LiveContainer("admin", "task-1", "node-1", null, PID, where, null, "sha256:aa",
                null, false, "nft", Map.of(), Instant.now()));
        reconciler.liveSet().restore(new LiveContainer("alone", "task-2", "node-1", null, otherPid, its, null,
                "sha256:bb", null, false, "nft", Map.of(), Instant.now()));
        reconciler.liveSet().restore(new LiveContainer("g1", "task-3", "node-1", null, PID, elsewhere, null, "sha256:cc",
                null, false, "nft", Map.of(), Instant.now()));
        reconciler.liveSet().restore(new LiveContainer("g2", "task-3", "node-1", null, PID, elsewhere, null, "sha256:cc",
                null, false, "nft", Map.of(), Instant.now()));
        enforcer.calls.clear();

        reconciler.restoreNamespaceOwners();

        assertThat(enforcer.calls.stream().filter(c -> c.startsWith("joined")))
                .as("a read before the restart is not kept: without one the first resync would report the plain"
                        + " member host-guarded beside a member that can get past the host guard")
                .containsExactlyInAnyOrder("joined plain", "joined admin");
        assertThat(enforcer.calls).as("the one alone is restored all the same")
                .contains("restoreNamespaceOwner alone task-2 sha256:bb");
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
    void aStoppedPodMembersHostChainIsLeftForTheMemberStillThereToWriteAsItsOwnAndTheLastOnesIsReleased()
            throws Exception {
        policies.put("task-1", ALLOW_A);
        start("m1", "task-1");
        start("m2", "task-1"); // the same namespace: a pod of two
        enforcer.calls.clear();

        reconciler.stopped(event("m1", "task-1", ContainerEvent.CONTAINER_STOPPED));
        // delivered again (a redelivery, a replay) before the member left rewrote the chain, which one whose pid moved
        // never does (helper 183 F2): m1's chain is the pod's now
        reconciler.stopped(event("m1", "task-1", ContainerEvent.CONTAINER_STOPPED));

        assertThat(released).as("no moment without a chain on the shared veth").isEmpty();
        await().atMost(Duration.ofSeconds(10))
                .until(() -> enforcer.calls.stream().anyMatch(c -> c.endsWith(" m2")));
        assertThat(enforcer.calls).as("the member left writes it as its own").allMatch(c -> c.endsWith(" m2"));

        reconciler.stopped(event("m2", "task-1", ContainerEvent.CONTAINER_STOPPED));
        assertThat(released).as("nobody left in the namespace").containsExactly("m2");
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
    void aResyncOfAQuarantineWrittenThroughAWitnessNamesNoProcPathTheEventGave() throws Exception {
        String id = "0123456789abcdef0123456789abcdef";
        policies.put("task-1", ALLOW_A);
        // the event named /proc/PID/ns/net, which followed PID into its decoy; the quarantine went through a witness
        ContainerEvent ev = new ContainerEvent(1, ContainerEvent.CONTAINER_STARTED, "ev-proc", Instant.now(), "node-1",
                "task-1", id, null, PID, "/proc/" + PID + "/ns/net");
        int witness = restartedIn(PID + 1);
        Files.writeString(proc.resolve(witness + "/cgroup"), "0::/machine.slice/libpod-" + id + ".scope\n");
        EnforcementResult quarantinedThere = EnforcementResult.failure(dev.netfence.core.ErrorCode.NAMESPACE_MISMATCH,
                "namespace inode 9 of pid " + PID + " was made inside the container (a decoy)").backend("nft")
                .quarantined(true).target(new dev.netfence.core.EnforcementTarget(witness, enforcer.device, enforcer.inode))
                .build();
        reconciler.started(ev, () -> quarantinedThere);
        await().atMost(Duration.ofSeconds(5)).until(() -> reconciler.liveSet().get(id).filter(c -> c.pid() == witness)
                .isPresent());
        enforcer.lastNetns = java.nio.file.Path.of("/unset");

        reconciler.resyncNow();

        // with the event's /proc path the witness was never in "its" namespace: every correction was a mismatch
        await().atMost(Duration.ofSeconds(5)).until(() -> enforcer.calls.contains("reconcile " + id));
        assertThat(enforcer.lastNetns).as("the recorded namespace and pid say where it is").isNull();
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
        enforcer.refuse = dev.netfence.core.ErrorCode.NAMESPACE_MISMATCH; // the decoy the pid is in, as the enforcer judges it
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
    void aContainerWhoseCgroupCannotBeReadIsKeptWithItsHostGuardNotReleasedAsGone() throws Exception {
        // a workload with a writable cgroup tree nested itself past the kernel's path limit: every read of its
        // /proc/PID/cgroup fails (ENAMETOOLONG), so the enforcer refuses it NAMESPACE_MISMATCH
        String id = "0123456789abcdef0123456789abcdef";
        policies.put("task-1", ALLOW_A);
        start(id, "task-1");
        Files.createDirectories(proc.resolve(PID + "/cgroup")); // a read of it fails, and not with ENOENT
        enforcer.refuse = dev.netfence.core.ErrorCode.NAMESPACE_MISMATCH;

        reconciler.resyncNow();
        reconciler.resyncNow();

        assertThat(released).as("its host guard stays").isEmpty();
        assertThat(published).as("reported, not removed").singleElement().satisfies(o -> {
            assertThat(o.status()).isEqualTo("failed");
            assertThat(o.error().code()).isEqualTo("NAMESPACE_MISMATCH");
        });
        assertThat(reconciler.liveSet().get(id)).as("still corrected at each resync").isPresent();
    }
}
