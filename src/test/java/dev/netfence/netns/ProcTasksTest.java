package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcTasksTest {
    @TempDir
    Path proc;

    private Path file(String relative) throws Exception {
        Path p = proc.resolve(relative);
        Files.createDirectories(p.getParent());
        Files.writeString(p, "");
        return p;
    }

    @Test
    void aProcessWhoseLeaderIsThereIsReadThroughTheLeader() throws Exception {
        Path leader = file("42/ns/net");
        file("42/task/43/ns/net");

        assertThat(ProcTasks.view(proc, 42)).isEqualTo(proc.resolve("42"));
        assertThat(ProcTasks.namespaceOf(proc, 42)).isEqualTo(NamespaceId.of(leader));
    }

    @Test
    void aProcessWhoseLeaderExitedIsReadThroughItsLowestLiveThread() throws Exception {
        Files.createDirectories(proc.resolve("42/task/42/ns")); // the zombie leader: no ns/net
        Files.createDirectories(proc.resolve("42/task/7/ns")); // an exited thread
        Path thread = file("42/task/51/ns/net");
        file("42/task/60/ns/net");

        assertThat(ProcTasks.view(proc, 42)).isEqualTo(proc.resolve("42/task/51"));
        assertThat(ProcTasks.liveThread(proc, 42)).contains(proc.resolve("42/task/51"));
        assertThat(ProcTasks.namespaceOf(proc, 42)).isEqualTo(NamespaceId.of(thread));
    }

    @Test
    void aProcessWithNoThreadLeftIsGone() throws Exception {
        Files.createDirectories(proc.resolve("42/task/42/ns"));

        assertThat(ProcTasks.liveThread(proc, 42)).isEmpty();
        assertThat(ProcTasks.view(proc, 42)).isEqualTo(proc.resolve("42"));
        assertThatThrownBy(() -> ProcTasks.namespaceOf(proc, 42)).isInstanceOf(NoSuchFileException.class);
        assertThatThrownBy(() -> ProcTasks.namespaceOf(proc, 99)).isInstanceOf(NoSuchFileException.class);
    }
}
