package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.PinnedNamespace;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * When a namespace counts as verified. A fake /proc in a temporary directory stands in for the
 * real one: {@code PID/ns/net} is a plain file, and its device and inode are the "namespace".
 */
class WitnessedNamespacesTest {
    @TempDir
    Path proc;

    @Test
    void aNamespaceNeverVerifiedIsNotKnownToBeHooked() throws Exception {
        WitnessedNamespaces hooks = new WitnessedNamespaces(proc);

        assertThat(hooks.present(pin(100, process(100)))).isFalse();
    }

    @Test
    void aNamespaceVerifiedThroughTheSamePidIsKnownToBeHooked() throws Exception {
        WitnessedNamespaces hooks = new WitnessedNamespaces(proc);
        NamespaceId ns = process(100);
        hooks.remember(pin(100, ns));

        assertThat(hooks.present(pin(100, ns))).isTrue();
    }

    @Test
    void anotherPidCountsOnlyWhileTheRememberedProcessIsStillInThatNamespace() throws Exception {
        WitnessedNamespaces hooks = new WitnessedNamespaces(proc);
        NamespaceId ns = process(100);
        hooks.remember(pin(100, ns));

        assertThat(hooks.present(pin(200, ns))).as("a second container of the pod").isTrue();

        Files.delete(proc.resolve("100/ns/net"));

        assertThat(hooks.present(pin(200, ns))).as("the remembered process is gone; the inode may be reused").isFalse();
    }

    @Test
    void aRememberedPidNowInAnotherNamespaceDoesNotCount() throws Exception {
        WitnessedNamespaces hooks = new WitnessedNamespaces(proc);
        NamespaceId ns = process(100);
        hooks.remember(pin(100, ns));
        Path other = Files.createFile(proc.resolve("100/ns/other")); // created while the first exists: another inode
        Files.move(other, proc.resolve("100/ns/net"), StandardCopyOption.REPLACE_EXISTING);

        assertThat(hooks.present(pin(200, ns))).isFalse();
    }

    @Test
    void forgettingANamespaceMakesItUnknown() throws Exception {
        WitnessedNamespaces hooks = new WitnessedNamespaces(proc);
        NamespaceId ns = process(100);
        hooks.remember(pin(100, ns));

        hooks.forget(pin(100, ns));

        assertThat(hooks.present(pin(100, ns))).isFalse();
    }

    @Test
    void onlyTheMostRecentlyUsedFourThousandNinetySixNamespacesAreKept() throws Exception {
        WitnessedNamespaces hooks = new WitnessedNamespaces(proc);
        for (int i = 0; i <= 4096; i++) {
            hooks.remember(pin(100, new NamespaceId(4, i)));
        }

        assertThat(hooks.present(pin(100, new NamespaceId(4, 0)))).isFalse();
        assertThat(hooks.present(pin(100, new NamespaceId(4, 1)))).isTrue();
        assertThat(hooks.present(pin(100, new NamespaceId(4, 4096)))).isTrue();
    }

    /** Creates {@code PID/ns/net} (a new file, so a new identity) and returns its identity. */
    private NamespaceId process(int pid) throws Exception {
        Path link = proc.resolve(pid + "/ns/net");
        Files.createDirectories(link.getParent());
        Files.createFile(link);
        return NamespaceId.of(link);
    }

    private static PinnedNamespace pin(int pid, NamespaceId ns) {
        return new PinnedNamespace(pid, Path.of("/proc/1000/fd/9"), ns, () -> { });
    }
}
