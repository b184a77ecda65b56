package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.core.ErrorCode;
import dev.netfence.event.ContainerEvent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * A start whose event named a runtime's path ({@code netns}) that leads to another namespace than
 * the one the container was quarantined in (a stale path: the enforcer quarantined the namespace
 * its pid is in): the entry records the runtime's path of that namespace beside the stale one, or
 * none, so that the resyncs read the quarantine back where it is, not through a path the pin
 * refuses each time, and a later restart by the runtime is still told. A path that leads to the
 * recorded namespace is kept.
 */
class ReconcilerStalePathTest extends ReconcilerFixture {
    private static final String ID = "0123456789abcdef0123456789abcdef";

    @Test
    void aStalePathWithNoRuntimesPathOfTheRecordedNamespaceBesideItIsNotRecorded() throws Exception {
        Path stale = Files.writeString(proc.resolve("netns-stale"), ""); // another inode: another namespace

        startedWithoutPolicy(stale);

        assertThat(reconciler.liveSet().get(ID)).hasValueSatisfying(c -> {
            assertThat(c.quarantined()).isTrue();
            assertThat(c.netnsPath()).as("the stale path not recorded").isNull();
        });
        enforcer.calls.clear();
        reconciler.resyncNow();
        assertThat(enforcer.calls).containsExactly("recheckQuarantine " + ID + " POLICY_NOT_FOUND");
        assertThat(enforcer.lastNetns).as("pinned where the container is, not through the stale path").isNull();
    }

    @Test
    void aStalePathIsReplacedByTheRuntimesPathOfTheRecordedNamespaceBesideItSoThatARestartIsStillTold()
            throws Exception {
        // helper 186 #2: with no path recorded, a restart by the runtime was taken for a moved pid for good
        Path stale = Files.writeString(proc.resolve("netns-stale"), "");
        Path runtimes = Files.createLink(proc.resolve("netns-own"), nsFile); // the recorded namespace's, beside it

        startedWithoutPolicy(stale);

        assertThat(reconciler.liveSet().get(ID)).hasValueSatisfying(c ->
                assertThat(c.netnsPath()).as("the runtime's path of where it is").isEqualTo(runtimes.toString()));
        int restarted = restartedIn(PID + 7); // the runtime restarts it: a new pid in a new namespace, its own path
        Files.writeString(proc.resolve(restarted + "/cgroup"), "0::/machine.slice/libpod-" + ID + ".scope\n");
        Files.createLink(proc.resolve("netns-new"), proc.resolve(restarted + "/ns/net"));
        Files.delete(runtimes);
        Files.move(nsFile, nsFile.resolveSibling("net.gone")); // the old pid is gone with its namespace
        Files.delete(proc.resolve(PID + "/cgroup"));
        enforcer.calls.clear();

        reconciler.resyncNow();

        assertThat(enforcer.calls).as("told for a restart: quarantined in its new namespace")
                .startsWith("failClosed " + ID + " POLICY_NOT_FOUND");
        assertThat(reconciler.liveSet().get(ID)).hasValueSatisfying(c -> assertThat(c.pid()).isEqualTo(restarted));
    }

    @Test
    void aPathThatLeadsToTheRecordedNamespaceIsKept() throws Exception {
        Path runtimes = Files.createLink(proc.resolve("netns-own"), nsFile); // the same inode, as a bind mount

        startedWithoutPolicy(runtimes);

        assertThat(reconciler.liveSet().get(ID)).hasValueSatisfying(c ->
                assertThat(c.netnsPath()).isEqualTo(runtimes.toString()));
        reconciler.resyncNow();
        assertThat(enforcer.lastNetns).isEqualTo(runtimes);
    }

    private void startedWithoutPolicy(Path path) throws Exception {
        Files.writeString(proc.resolve(PID + "/cgroup"), "0::/machine.slice/libpod-" + ID + ".scope\n");
        ContainerEvent ev = new ContainerEvent(1, ContainerEvent.CONTAINER_STARTED, "ev-" + ID, Instant.now(), "node-1",
                "task-1", ID, null, PID, path.toString());
        EnforcementResult r = reconciler.started(ev, () -> enforcer.failClosed(ID, null, PID, path,
                ErrorCode.POLICY_NOT_FOUND, "no policy for task task-1"));
        assertThat(r.quarantined()).isTrue();
        reconciler.published(EVENT_OUTCOMES.of(ev, r, false));
    }
}
