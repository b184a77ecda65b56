package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * A container whose recorded pid moved out of its namespace while another process of it stayed
 * there: the entry follows that process, so the namespace is still read back and repaired; and a
 * followed process that exits during its read-back gets nothing released while the container runs.
 */
class ReconcilerFollowTest extends ReconcilerFixture {
    @Test
    void aContainerWhosePidMovedOutWhileAnotherOfItsProcessesStaysIsFollowedThereAndStillReadBackAndRepaired()
            throws Exception {
        // helper 185 #2: before, it was taken for moved, and no later resync read its namespace back
        String id = "0123456789abcdef0123456789abcdef";
        int stayed = startedThenMovedOutLeaving(id, PID + 7);
        enforcer.calls.clear();
        enforcer.drift = "chain output: rule removed";

        reconciler.resyncNow();

        assertThat(enforcer.calls).as("read back through the process still there").containsExactly("reconcile " + id);
        assertThat(published).singleElement().satisfies(o -> {
            assertThat(o.status()).isEqualTo("applied");
            assertThat(o.trigger()).isEqualTo("drift");
        });
        assertThat(reconciler.liveSet().get(id)).hasValueSatisfying(c -> {
            assertThat(c.pid()).isEqualTo(stayed);
            assertThat(c.inForce()).isTrue();
        });
        assertThat(registry.find("netfence.reconcile.pid.moved").counter()).isNull();
        assertThat(released).isEmpty();
    }

    @Test
    void aFollowedProcessThatExitsDuringTheReadBackDoesNotGetARunningContainerReleased() throws Exception {
        // helper 186 #1: a workload keeps short-lived processes in the namespace it left; the one followed exits before
        // its read-back, which finds it gone: the container, its pid 1 still running, was released with its host guard
        String id = "0123456789abcdef0123456789abcdef";
        int stayed = startedThenMovedOutLeaving(id, PID + 7);
        java.util.concurrent.CountDownLatch hold = new java.util.concurrent.CountDownLatch(1);
        enforcer.holdId = id;
        enforcer.hold = hold;
        Thread resync = new Thread(() -> {
            try {
                reconciler.resyncNow();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        resync.start();
        await().atMost(java.time.Duration.ofSeconds(10)).until(() -> enforcer.calls.contains("reconcile " + id));
        try (java.util.stream.Stream<Path> files = Files.walk(proc.resolve(Integer.toString(stayed)))) {
            for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(f); // the followed process exits while its read-back runs
            }
        }
        enforcer.gone = true;
        hold.countDown();
        resync.join(10_000);

        assertThat(released).as("its pid 1 still runs: not released").isEmpty();
        assertThat(published).noneMatch(o -> "removed".equals(o.status()));
        assertThat(reconciler.liveSet().get(id)).as("kept, following a process of it").hasValueSatisfying(c ->
                assertThat(c.pid()).isEqualTo(PID));
    }

    /**
     * Container {@code id} started under task-1's policy, then its pid moved into another namespace
     * while its process {@code stayed} is still in the recorded one; {@code stayed}.
     */
    private int startedThenMovedOutLeaving(String id, int stayed) throws Exception {
        policies.put("task-1", ALLOW_A);
        start(id, "task-1");
        Files.createLink(Files.createDirectories(proc.resolve(stayed + "/ns")).resolve("net"), nsFile);
        Files.writeString(proc.resolve(stayed + "/cgroup"), "0::/machine.slice/libpod-" + id + ".scope\n");
        Files.writeString(proc.resolve(PID + "/cgroup"), "0::/machine.slice/libpod-" + id + ".scope\n");
        Files.move(nsFile, nsFile.resolveSibling("net.original")); // the pid moves into another namespace
        Files.writeString(nsFile, "");
        return stayed;
    }
}
