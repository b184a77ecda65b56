package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Statx.linkCount answers what the JDK's {@code unix:nlink} attribute does, and a missing path is NoSuchFileException. */
class StatxLinkCountTest {
    @TempDir
    Path dir;

    @Test
    void aDirectorysLinkCountIsTheOneTheJdkReadsAndGrowsWithItsSubDirectories() throws Exception {
        Integer before = Statx.linkCount(dir);
        assertThat(before).as("statx is linked here").isNotNull();
        Files.createDirectory(dir.resolve("a"));
        Files.createDirectory(dir.resolve("b"));
        Files.writeString(dir.resolve("file"), "x");

        assertThat(Statx.linkCount(dir)).isEqualTo(jdk(dir));
        if (before.intValue() == 2) { // file systems that count sub-directories (ext4, tmpfs, kernfs), not btrfs
            assertThat(Statx.linkCount(dir)).isEqualTo(4);
        }
        assertThat(Statx.linkCount(dir.resolve("file"))).isEqualTo(1);
    }

    @Test
    void aSymbolicLinkIsNotFollowedAndAMissingPathIsNoSuchFile() throws Exception {
        Files.createDirectory(dir.resolve("a"));
        Files.createDirectory(dir.resolve("a/b"));
        Path link = Files.createSymbolicLink(dir.resolve("link"), dir.resolve("a"));

        assertThat(Statx.linkCount(link)).isEqualTo(jdk(link)).isEqualTo(1);
        assertThatThrownBy(() -> Statx.linkCount(dir.resolve("gone"))).isInstanceOf(NoSuchFileException.class);
    }

    private static int jdk(Path path) throws Exception {
        return ((Number) Files.getAttribute(path, "unix:nlink", LinkOption.NOFOLLOW_LINKS)).intValue();
    }
}
