package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.core.EnforcementResult;
import dev.netfence.event.ContainerEvent;
import dev.netfence.netns.NamespaceId;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A container its runtime restarted under the same id with no event (a restart policy,
 * {@code podman restart}: new pid, new namespace, the old namespace's bind path removed) while
 * netfence keeps its entry: the next resync finds its process elsewhere and the runtime's path it
 * recorded gone, and applies the task's policy where the process is, as at a start; before, it took
 * the container for a moved pid for good, its new namespace never enforced. Where the runtime's
 * path still leads to the recorded namespace (a workload that moved its processes out and let the
 * one the entry followed exit) it is taken for a move as before, and so where the enforcer refuses
 * the namespace the process is in now. The runtime's path here is a hard link to the fake
 * namespace file (the same inode, as a bind mount of the namespace is).
 */
class ReconcilerRestartTest extends ReconcilerFixture {
    private static final String ID = "0123456789abcdef0123456789abcdef";
    private Path runtimePath;
    private NamespaceId recorded;
    private int elsewhere;

    @BeforeEach
    void startedWithItsRuntimesPath() throws Exception {
        policies.put("task-1", ALLOW_A);
        Files.writeString(proc.resolve(PID + "/cgroup"), "0::/machine.slice/libpod-" + ID + ".scope\n");
        runtimePath = Files.createLink(proc.resolve("netns-" + ID.substring(0, 8)), nsFile); // not a pid: no process
        recorded = NamespaceId.of(nsFile);
        ContainerEvent ev = new ContainerEvent(1, ContainerEvent.CONTAINER_STARTED, "ev-" + ID, Instant.now(), "node-1",
                "task-1", ID, null, PID, runtimePath.toString());
        var req = request(ID, PID, "task-1");
        EnforcementResult r = reconciler.started(ev, () -> enforcer.enforce(req));
        assertThat(r.status()).isEqualTo("applied");
        reconciler.published(EVENT_OUTCOMES.of(ev, r, false));
        elsewhere = restartedIn(PID + 7); // the fake enforcer now answers for the other namespace
        Files.writeString(proc.resolve(elsewhere + "/cgroup"), "0::/machine.slice/libpod-" + ID + ".scope\n");
        gone(proc.resolve(Integer.toString(PID)));
        enforcer.calls.clear();
        published.clear();
    }

    @Test
    void aContainerRestartedByItsRuntimeWithNoEventGetsItsPolicyInItsNewNamespace() throws Exception {
        NamespaceId after = new NamespaceId(enforcer.device, enforcer.inode);
        Files.delete(runtimePath); // the runtime removed the old namespace's bind mount, and made the new one's
        Path newPath = Files.createLink(proc.resolve("netns-new"), proc.resolve(elsewhere + "/ns/net"));

        reconciler.resyncNow();

        assertThat(enforcer.calls).as("applied where the container runs now").containsExactly("enforce " + ID);
        assertThat(enforcer.lastNetns).as("through the runtime's path of it").isEqualTo(newPath);
        assertThat(reconciler.liveSet().get(ID)).hasValueSatisfying(c -> {
            assertThat(c.pid()).isEqualTo(elsewhere);
            assertThat(c.netns()).isEqualTo(after).isNotEqualTo(recorded);
            assertThat(c.inForce()).isTrue();
            assertThat(c.netnsPath()).as("the runtime's path of the new namespace, for a later restart")
                    .isEqualTo(newPath.toString());
        });
        assertThat(published).singleElement().satisfies(o -> assertThat(o.status()).isEqualTo("applied"));
        assertThat(registry.find("netfence.reconcile.pid.moved").counter()).as("not taken for a move").isNull();
        assertThat(released).isEmpty();
        assertThat(enforcer.releasedNamespaces).as("the old namespace let go").containsExactly(recorded);

        reconciler.resyncNow(); // and from now on checked there like any container
        assertThat(enforcer.calls).containsExactly("enforce " + ID, "reconcile " + ID);

        // restarted again: told by the new path too
        int third = restartedIn(PID + 9);
        Files.writeString(proc.resolve(third + "/cgroup"), "0::/machine.slice/libpod-" + ID + ".scope\n");
        gone(proc.resolve(Integer.toString(elsewhere)));
        Files.delete(newPath);
        Files.createLink(proc.resolve("netns-third"), proc.resolve(third + "/ns/net"));
        reconciler.resyncNow();
        assertThat(reconciler.liveSet().get(ID)).hasValueSatisfying(c -> assertThat(c.pid()).isEqualTo(third));
        assertThat(registry.find("netfence.reconcile.pid.moved").counter()).isNull();
    }

    /**
     * Helper 182 #3: before, its runtime's new namespace stayed open, the container taken for a moved
     * pid. The policy goes before the restart is seen (the resync finds it), or after (the policy's
     * own correction finds it).
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "{0}, the policy changed before the restart: {1}")
    @org.junit.jupiter.params.provider.CsvSource({"POLICY_NOT_FOUND, true", "INVALID_POLICY, false",
            "POLICY_NOT_FOUND, false", "INVALID_POLICY, true"})
    void aContainerRestartedWithNoUsablePolicyIsQuarantinedInItsNewNamespaceNotTakenForAMove(String code,
            boolean policyFirst) throws Exception {
        if (policyFirst) {
            losePolicy(code);
            await().atMost(java.time.Duration.ofSeconds(10)).until(() -> published.size() == 1);
            enforcer.calls.clear();
            published.clear();
        }
        Files.delete(runtimePath);
        Path newPath = Files.createLink(proc.resolve("netns-new"), proc.resolve(elsewhere + "/ns/net"));

        if (policyFirst) {
            reconciler.resyncNow();
        } else {
            losePolicy(code);
        }

        await().atMost(java.time.Duration.ofSeconds(10)).until(() -> !published.isEmpty());
        assertThat(enforcer.calls).as("quarantined where the container runs now")
                .startsWith("failClosed " + ID + " " + code).noneMatch(call -> call.startsWith("enforce"));
        assertThat(enforcer.lastNetns).as("through the runtime's path of it").isEqualTo(newPath);
        assertThat(reconciler.liveSet().get(ID)).hasValueSatisfying(c -> {
            assertThat(c.pid()).isEqualTo(elsewhere);
            assertThat(c.netns()).isEqualTo(new NamespaceId(enforcer.device, enforcer.inode)).isNotEqualTo(recorded);
            assertThat(c.quarantined()).isTrue();
            assertThat(c.errorCode()).isEqualTo(code);
            assertThat(c.netnsPath()).isEqualTo(newPath.toString());
        });
        assertThat(published).singleElement().satisfies(o -> {
            assertThat(o.errorCode()).isEqualTo(code);
            assertThat(o.quarantined()).isTrue();
        });
        assertThat(enforcer.releasedNamespaces).as("the old namespace let go").containsExactly(recorded);

        enforcer.calls.clear();
        reconciler.resyncNow(); // from now on its quarantine is read back there like any
        assertThat(enforcer.calls).containsExactly("recheckQuarantine " + ID + " " + code);
    }

    /**
     * Helper 185 #6: with {@code --on-failure leave} nothing is written, and the restart was taken
     * for a moved pid (an outcome saying the rules were kept in a namespace that was gone), looked at
     * as a restart again at every resync. It is recorded where it runs now, failed and not
     * quarantined, which is what is true there.
     */
    @Test
    void aRestartWithNoUsablePolicyUnderOnFailureLeaveIsRecordedFailedInItsNewNamespaceNotTakenForAMove()
            throws Exception {
        enforcer.leave = true;
        Files.delete(runtimePath);
        Path newPath = Files.createLink(proc.resolve("netns-new"), proc.resolve(elsewhere + "/ns/net"));

        losePolicy("POLICY_NOT_FOUND"); // its correction finds the restart

        await().atMost(java.time.Duration.ofSeconds(10)).until(() -> !published.isEmpty());
        assertThat(enforcer.calls).containsExactly("failClosed " + ID + " POLICY_NOT_FOUND");
        assertThat(reconciler.liveSet().get(ID)).hasValueSatisfying(c -> {
            assertThat(c.pid()).isEqualTo(elsewhere);
            assertThat(c.netns()).isEqualTo(new NamespaceId(enforcer.device, enforcer.inode)).isNotEqualTo(recorded);
            assertThat(c.quarantined()).isFalse();
            assertThat(c.errorCode()).isEqualTo("POLICY_NOT_FOUND");
            assertThat(c.netnsPath()).isEqualTo(newPath.toString());
        });
        assertThat(published).singleElement().satisfies(o -> {
            assertThat(o.errorCode()).isEqualTo("POLICY_NOT_FOUND");
            assertThat(o.quarantined()).isFalse();
        });
        assertThat(registry.find("netfence.reconcile.pid.moved").counter()).as("not taken for a move").isNull();
        assertThat(enforcer.releasedNamespaces).as("the old namespace let go").containsExactly(recorded);

        enforcer.calls.clear();
        published.clear();
        reconciler.resyncNow(); // from now on like any container left unenforced there: no restart, nothing new to say
        assertThat(enforcer.calls).containsExactly("failClosed " + ID + " POLICY_NOT_FOUND");
        assertThat(published).isEmpty();
        assertThat(registry.find("netfence.reconcile.pid.moved").counter()).isNull();
    }

    @Test
    void aRestartWhoseWriteWentToAnotherNamespaceThanThePathsRecordsThatOnesPathNotTheOther() throws Exception {
        // helper 186 #4: the write went to the namespace the pid is in (beside the path's), and the entry recorded the
        // path of the other one: every resync took it for a restart again, two writes and an outcome each time
        Files.delete(runtimePath);
        Files.createLink(proc.resolve("netns-new"), proc.resolve(elsewhere + "/ns/net"));
        NamespaceId other = NamespaceId.of(Files.writeString(Files.createDirectories(proc.resolve("own")).resolve("ns"),
                "")); // not in the directory of the runtime's paths
        enforcer.device = other.device();
        enforcer.inode = other.inode();

        reconciler.resyncNow();

        assertThat(enforcer.calls).containsExactly("enforce " + ID);
        assertThat(reconciler.liveSet().get(ID)).hasValueSatisfying(c -> {
            assertThat(c.netns()).isEqualTo(other);
            assertThat(c.netnsPath()).as("no path of the runtime leads there").isNull();
        });
    }

    private void losePolicy(String code) {
        if (code.equals("POLICY_NOT_FOUND")) {
            policies.delete("task-1");
        } else {
            policies.invalid("task-1");
        }
    }

    @Test
    void oneWhoseRuntimesPathStillLeadsToItsNamespaceIsTakenForAMoveAsBefore() throws Exception {
        reconciler.resyncNow();

        assertThat(enforcer.calls).as("nothing applied elsewhere").isEmpty();
        assertMovedAsBefore();
    }

    @Test
    void aProcessInANamespaceItsRuntimeDidNotMakeIsNotTakenForTheRestartAndTheRuntimesNewNamespaceGetsThePolicy()
            throws Exception {
        // helper 180: the workload lets its runtime restart it, and before the runtime's new init exists (or with a
        // lower pid) makes a namespace of its own (a new user namespace, an interface in it) that the entry follows
        Files.delete(runtimePath);

        reconciler.resyncNow();

        assertThat(enforcer.calls).as("nothing written into the workload's own namespace").isEmpty();
        assertMovedAsBefore();

        int init = restartedIn(PID + 20); // the runtime's new namespace, with its bind path
        Files.writeString(proc.resolve(init + "/cgroup"), "0::/machine.slice/libpod-" + ID + ".scope\n");
        Path newPath = Files.createLink(proc.resolve("netns-new"), proc.resolve(init + "/ns/net"));
        reconciler.resyncNow();

        assertThat(enforcer.calls).containsExactly("enforce " + ID);
        assertThat(enforcer.lastNetns).isEqualTo(newPath);
        assertThat(reconciler.liveSet().get(ID)).hasValueSatisfying(c -> {
            assertThat(c.pid()).as("the runtime's process, not the lower one in the workload's namespace").isEqualTo(init);
            assertThat(c.netns()).isEqualTo(new NamespaceId(enforcer.device, enforcer.inode));
            assertThat(c.netnsPath()).isEqualTo(newPath.toString());
        });
        assertThat(published).last().satisfies(o -> assertThat(o.status()).isEqualTo("applied"));
    }

    @Test
    void aNewNamespaceThatReusesTheOldOnesNumberIsTakenForTheRestartAndWhatTheApplySetUpIsKept() throws Exception {
        // the kernel reuses a freed namespace's inode number: the runtime's new namespace may carry the old one's
        int init = PID + 30;
        Path ns = Files.createDirectories(proc.resolve(init + "/ns")).resolve("net");
        Files.createLink(ns, runtimePath); // the same number as the recorded namespace
        Files.writeString(proc.resolve(init + "/cgroup"), "0::/machine.slice/libpod-" + ID + ".scope\n");
        Files.delete(runtimePath);
        Path newPath = Files.createLink(proc.resolve("netns-new"), ns);
        enforcer.device = recorded.device();
        enforcer.inode = recorded.inode();

        reconciler.resyncNow();

        assertThat(enforcer.calls).containsExactly("enforce " + ID);
        assertThat(enforcer.lastNetns).isEqualTo(newPath);
        assertThat(reconciler.liveSet().get(ID)).hasValueSatisfying(c -> {
            assertThat(c.pid()).isEqualTo(init);
            assertThat(c.netns()).isEqualTo(recorded);
            assertThat(c.netnsPath()).isEqualTo(newPath.toString());
        });
        assertThat(enforcer.releasedNamespaces).as("the namespace just applied to is not let go").isEmpty();
        assertThat(published).last().satisfies(o -> assertThat(o.status()).isEqualTo("applied"));
    }

    @Test
    void oneWhoseProcessElsewhereTheEnforcerRefusesIsTakenForAMoveAsBeforeAndTriedAgain() throws Exception {
        Files.delete(runtimePath);
        Files.createLink(proc.resolve("netns-new"), proc.resolve(elsewhere + "/ns/net"));
        enforcer.refuse = dev.netfence.core.ErrorCode.NAMESPACE_MISMATCH; // a namespace the workload made

        reconciler.resyncNow();

        assertMovedAsBefore();
        enforcer.refuse = null;
        reconciler.resyncNow();
        assertThat(reconciler.liveSet().get(ID)).hasValueSatisfying(c -> assertThat(c.pid()).isEqualTo(elsewhere));
        assertThat(published).last().satisfies(o -> assertThat(o.status()).isEqualTo("applied"));
    }

    private void assertMovedAsBefore() {
        assertThat(registry.get("netfence.reconcile.pid.moved").counter().count()).isEqualTo(1.0);
        assertThat(reconciler.liveSet().get(ID)).hasValueSatisfying(c -> {
            assertThat(c.pid()).isEqualTo(elsewhere);
            assertThat(c.netns()).as("what is in force stays recorded").isEqualTo(recorded);
        });
        assertThat(published).singleElement().satisfies(o -> assertThat(o.error().code()).isEqualTo("NAMESPACE_MISMATCH"));
        assertThat(released).isEmpty();
    }

    private static void gone(Path dir) throws Exception {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(f);
            }
        }
    }
}
