package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A file's identity through statx equals the JDK's, whatever file system it lives on. */
class NamespaceIdTest {
    @TempDir
    Path dir;

    @Test
    void theStatxIdentityOfNamespaceFilesAndOrdinaryFilesEqualsTheJdks() throws Exception {
        Path file = Files.writeString(dir.resolve("f"), "x");
        for (Path path : new Path[] {Path.of("/proc/self/ns/net"), Path.of("/proc/thread-self/ns/net"),
                Path.of("/proc/self/ns/mnt"), file, dir, Path.of("/"), Path.of("/proc")}) {
            NamespaceId fast = Statx.identity(path);

            assertThat(fast).as("statx is linked on the machines netfence runs on (%s)", path).isNotNull();
            assertThat(fast).as(path.toString()).isEqualTo(NamespaceId.viaJdk(path));
            assertThat(NamespaceId.of(path)).isEqualTo(fast);
        }
    }

    @Test
    void twoNamespacesOfOneProcessDifferAndAMissingPathIsNoSuchFile() throws Exception {
        assertThat(NamespaceId.of(Path.of("/proc/self/ns/net"))).isNotEqualTo(NamespaceId.of(Path.of("/proc/self/ns/mnt")));
        assertThatThrownBy(() -> NamespaceId.of(dir.resolve("gone"))).isInstanceOf(NoSuchFileException.class);
        assertThatThrownBy(() -> NamespaceId.of(Path.of("/proc/999999999/ns/net"))).isInstanceOf(NoSuchFileException.class);
    }

    @Test
    void makedevEncodesMajorAndMinorAsGlibcDoes() {
        assertThat(Statx.makedev(0, 4)).isEqualTo(4L);
        assertThat(Statx.makedev(8, 1)).isEqualTo(0x801L);
        assertThat(Statx.makedev(259, 0x12345)).isEqualTo((259L << 8) | 0x45L | (0x12300L << 12));
        assertThat(Statx.makedev(0x12345, 0)).isEqualTo((0x345L << 8) | (0x12000L << 32));
    }
}
