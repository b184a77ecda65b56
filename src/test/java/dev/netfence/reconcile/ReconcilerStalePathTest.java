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
 * its pid is in): the entry records no path, so that the resyncs read the quarantine back where it
 * is, not through a path the pin refuses each time. A path that leads to the recorded namespace is
 * kept (a runtime restart is told by it).
 */
class ReconcilerStalePathTest extends ReconcilerFixture {
    private static final String ID = "0123456789abcdef0123456789abcdef";

    @Test
    void aStalePathIsNotRecordedAndTheQuarantineIsReadBackWhereTheContainerIs() throws Exception {
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
