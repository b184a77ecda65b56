package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.netns.NamespaceId;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * A container its runtime restarted under the same id with no event (a restart policy,
 * {@code podman restart}: new pid, new namespace) while netfence keeps its entry: the next
 * resync finds the recorded process gone, none of the container in the recorded namespace and a
 * process of it in another one, and applies the task's policy there as at a start; before, it took
 * the container for a move, reported NAMESPACE_MISMATCH ("its rules and host guard are kept") and
 * passed it by for good, the new namespace left without its policy.
 */
class ReconcilerRestartTest extends ReconcilerFixture {
    private static final String ID = "0123456789abcdef0123456789abcdef";

    @Test
    void aContainerRestartedByItsRuntimeWithNoEventGetsItsPolicyInItsNewNamespace() throws Exception {
        policies.put("task-1", ALLOW_A);
        Files.writeString(proc.resolve(PID + "/cgroup"), "0::/machine.slice/libpod-" + ID + ".scope\n");
        start(ID, "task-1");
        NamespaceId before = NamespaceId.of(nsFile);
        int restarted = restartedIn(PID + 7); // the fake enforcer now answers for the new namespace
        Files.writeString(proc.resolve(restarted + "/cgroup"), "0::/machine.slice/libpod-" + ID + ".scope\n");
        NamespaceId after = new NamespaceId(enforcer.device, enforcer.inode);
        gone(PID);
        enforcer.calls.clear();
        published.clear();

        reconciler.resyncNow();

        assertThat(enforcer.calls).as("applied where the container runs now").containsExactly("enforce " + ID);
        assertThat(reconciler.liveSet().get(ID)).hasValueSatisfying(c -> {
            assertThat(c.pid()).isEqualTo(restarted);
            assertThat(c.netns()).isEqualTo(after).isNotEqualTo(before);
            assertThat(c.inForce()).isTrue();
            assertThat(c.netnsPath()).isNull();
        });
        assertThat(published).singleElement().satisfies(o -> assertThat(o.status()).isEqualTo("applied"));
        assertThat(registry.find("netfence.reconcile.pid.moved").counter()).as("not taken for a move").isNull();
        assertThat(released).isEmpty();

        reconciler.resyncNow(); // and from now on checked there like any container
        assertThat(enforcer.calls).containsExactly("enforce " + ID, "reconcile " + ID);
    }

    @Test
    void oneWhoseProcessElsewhereTheEnforcerRefusesIsTakenForAMoveAsBefore() throws Exception {
        policies.put("task-1", ALLOW_A);
        Files.writeString(proc.resolve(PID + "/cgroup"), "0::/machine.slice/libpod-" + ID + ".scope\n");
        start(ID, "task-1");
        NamespaceId recorded = NamespaceId.of(nsFile);
        int elsewhere = restartedIn(PID + 7); // a namespace the workload made: the enforcer refuses it
        Files.writeString(proc.resolve(elsewhere + "/cgroup"), "0::/machine.slice/libpod-" + ID + ".scope\n");
        gone(PID);
        enforcer.refuse = dev.netfence.core.ErrorCode.NAMESPACE_MISMATCH;
        published.clear();

        reconciler.resyncNow();

        assertThat(registry.get("netfence.reconcile.pid.moved").counter().count()).isEqualTo(1.0);
        assertThat(reconciler.liveSet().get(ID)).hasValueSatisfying(c -> {
            assertThat(c.pid()).isEqualTo(elsewhere);
            assertThat(c.netns()).as("what is in force stays recorded").isEqualTo(recorded);
        });
        assertThat(published).singleElement().satisfies(o -> assertThat(o.error().code()).isEqualTo("NAMESPACE_MISMATCH"));
        assertThat(released).isEmpty();
    }

    private void gone(int pid) throws Exception {
        try (Stream<Path> files = Files.walk(proc.resolve(Integer.toString(pid)))) {
            for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(f);
            }
        }
    }
}
