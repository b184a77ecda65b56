package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runtime's bind paths of a directory, by the namespace each leads to (here plain files stand
 * for the namespaces: a bind mount shares its namespace's identity as a hard link does): a symbolic
 * link is no bind mount and is passed over, so that whoever may write the directory cannot have a
 * namespace of their choosing taken for one the runtime made (helper 187).
 */
class BindPathsTest {
    @TempDir
    Path dir;

    @Test
    void aDirectorysEntriesAreListedByTheNamespaceEachLeadsTo() throws Exception {
        Path a = Files.writeString(dir.resolve("netns-a"), "");
        Path b = Files.writeString(dir.resolve("netns-b"), "");

        assertThat(BindPaths.in(dir)).containsExactlyInAnyOrderEntriesOf(Map.of(NamespaceId.of(a), a.toString(),
                NamespaceId.of(b), b.toString()));
        assertThat(BindPaths.of(NamespaceId.of(b), dir)).contains(b.toString());
    }

    @Test
    void aSymbolicLinkIsNotTakenForABindPath(@TempDir Path elsewhere) throws Exception {
        Path decoy = Files.writeString(elsewhere.resolve("ns"), "");
        Files.createSymbolicLink(dir.resolve("aaa"), decoy);

        assertThat(BindPaths.in(dir)).isEmpty();
        assertThat(BindPaths.of(NamespaceId.of(decoy), dir)).isEmpty();
    }

    @Test
    void noDirectoryOrOneThatCannotBeListedHasNone() {
        assertThat(BindPaths.in(null)).isEmpty();
        assertThat(BindPaths.in(dir.resolve("missing"))).isEmpty();
    }
}
