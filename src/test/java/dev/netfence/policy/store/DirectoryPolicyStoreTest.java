package dev.netfence.policy.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DirectoryPolicyStoreTest {
    @TempDir
    Path dir;

    private DirectoryPolicyStore open() {
        return DirectoryPolicyStore.open(dir, FakePolicies.DECODER, Duration.ofMillis(50));
    }

    @Test
    void filesPresentAtStartAreLoadedImmediately() throws Exception {
        Files.write(dir.resolve("task-1.json"), FakePolicies.OPEN_JSON);
        Files.write(dir.resolve("task:2.json"), FakePolicies.HOST_JSON);
        Files.write(dir.resolve("not a task.json"), FakePolicies.OPEN_JSON);
        Files.write(dir.resolve("task-3.txt"), FakePolicies.OPEN_JSON);
        try (DirectoryPolicyStore store = open()) {
            assertThat(store.isCaughtUp()).isTrue();
            assertThat(store.lookup("task-1")).contains(new StoredPolicy.Valid(FakePolicies.OPEN));
            assertThat(store.lookup("task:2")).get().isInstanceOf(StoredPolicy.Invalid.class);
            assertThat(store.lookup("not a task")).isEmpty();
            assertThat(store.lookup("task-3")).isEmpty();
        }
    }

    @Test
    void aChangedFileIsReloadedAndADeletedFileRemovesItsPolicy() throws Exception {
        Path file = dir.resolve("task-1.json");
        Files.write(file, FakePolicies.OPEN_JSON);
        try (DirectoryPolicyStore store = open()) {
            Files.write(file, FakePolicies.CLOSED_JSON);
            Files.setLastModifiedTime(file, FileTime.from(Instant.now().plusSeconds(5)));
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> store.lookup("task-1").equals(Optional.of(new StoredPolicy.Valid(FakePolicies.CLOSED))));
            Files.delete(file);
            await().atMost(Duration.ofSeconds(10)).until(() -> store.lookup("task-1").isEmpty());
        }
    }

    @Test
    void aFileWrittenWhileSomeoneWaitsIsFoundWithinTheWait() throws Exception {
        try (DirectoryPolicyStore store = open()) {
            CompletableFuture<Optional<StoredPolicy>> waiting = CompletableFuture.supplyAsync(() -> {
                try {
                    return store.await("late", Duration.ofSeconds(30));
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            await().during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(5)).until(() -> !waiting.isDone());
            Files.write(dir.resolve("late.json"), FakePolicies.OPEN_JSON);
            assertThat(waiting.get(30, TimeUnit.SECONDS)).contains(new StoredPolicy.Valid(FakePolicies.OPEN));
        }
    }

    @Test
    void aMissingDirectoryIsRefused() {
        assertThatThrownBy(() -> DirectoryPolicyStore.open(dir.resolve("nope"), FakePolicies.DECODER, Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("policy directory does not exist: " + dir.resolve("nope"));
    }
}
