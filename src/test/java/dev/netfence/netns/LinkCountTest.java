package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** LinkCount's statx answers what the JDK's {@code unix:nlink} attribute does, and a missing path is NoSuchFileException. */
class LinkCountTest {
    @TempDir
    Path dir;

    @Test
    void aDirectorysLinkCountIsTheOneTheJdkReadsAndGrowsWithItsSubDirectories() throws Exception {
        int before = LinkCount.of(dir);
        Files.createDirectory(dir.resolve("a"));
        Files.createDirectory(dir.resolve("b"));
        Files.writeString(dir.resolve("file"), "x");

        assertThat(LinkCount.of(dir)).isEqualTo(jdk(dir));
        if (before == 2) { // file systems that count sub-directories (ext4, tmpfs, kernfs), not btrfs
            assertThat(LinkCount.of(dir)).isEqualTo(4);
        }
        assertThat(LinkCount.of(dir.resolve("file"))).isEqualTo(1);
    }

    @Test
    void aSymbolicLinkIsNotFollowedAndAMissingPathIsNoSuchFile() throws Exception {
        Files.createDirectory(dir.resolve("a"));
        Files.createDirectory(dir.resolve("a/b"));
        Path link = Files.createSymbolicLink(dir.resolve("link"), dir.resolve("a"));

        assertThat(LinkCount.of(link)).isEqualTo(jdk(link)).isEqualTo(1);
        assertThatThrownBy(() -> LinkCount.of(dir.resolve("gone"))).isInstanceOf(NoSuchFileException.class);
    }

    private static int jdk(Path path) throws Exception {
        return ((Number) Files.getAttribute(path, "unix:nlink", LinkOption.NOFOLLOW_LINKS)).intValue();
    }
}
