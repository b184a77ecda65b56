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
            // written whole and renamed into place: a scan in the middle of a write would read a partial file
            Path written = Files.write(dir.resolve("late.json.tmp"), FakePolicies.OPEN_JSON);
            Files.move(written, dir.resolve("late.json"), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            assertThat(waiting.get(30, TimeUnit.SECONDS)).contains(new StoredPolicy.Valid(FakePolicies.OPEN));
        }
    }

    /** OPEN_JSON padded to CLOSED_JSON's size: an edit between them keeps the size. */
    private static final byte[] OPEN_SAME_SIZE = (new String(FakePolicies.OPEN_JSON, java.nio.charset.StandardCharsets.UTF_8)
            + " ").getBytes(java.nio.charset.StandardCharsets.UTF_8);

    private DirectoryPolicyStore openScanningOnlyWhenTold() {
        return DirectoryPolicyStore.open(dir, FakePolicies.DECODER, Duration.ofHours(1));
    }

    @Test
    void anEditThatKeepsTheSizeAndTheModificationTimeIsStillReloaded() throws Exception {
        assertThat(OPEN_SAME_SIZE).hasSameSizeAs(FakePolicies.CLOSED_JSON);
        Path file = dir.resolve("task-1.json");
        Files.write(file, OPEN_SAME_SIZE);
        FileTime kept = Files.getLastModifiedTime(file);
        try (DirectoryPolicyStore store = openScanningOnlyWhenTold()) {
            assertThat(store.lookup("task-1")).contains(new StoredPolicy.Valid(FakePolicies.OPEN));

            Files.write(file, FakePolicies.CLOSED_JSON); // in place, within one timestamp tick, or its time restored
            Files.setLastModifiedTime(file, kept);
            store.scanNow();
            assertThat(store.lookup("task-1")).contains(new StoredPolicy.Valid(FakePolicies.CLOSED));

            Path copy = dir.resolve("task-1.json.tmp"); // copied with its times kept (cp -p, rsync -t), renamed over
            Files.write(copy, OPEN_SAME_SIZE);
            Files.setLastModifiedTime(copy, Files.getLastModifiedTime(file));
            Files.move(copy, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            store.scanNow();
            assertThat(store.lookup("task-1")).contains(new StoredPolicy.Valid(FakePolicies.OPEN));
        }
    }

    @Test
    void aFileThatCouldNotBeReadIsReadAgainAtTheNextScanThoughItDidNotChange() throws Exception {
        Files.write(dir.resolve("task-1.json"), FakePolicies.OPEN_JSON);
        java.util.concurrent.atomic.AtomicInteger reads = new java.util.concurrent.atomic.AtomicInteger();
        try (DirectoryPolicyStore store = DirectoryPolicyStore.open(dir, FakePolicies.DECODER, Duration.ofHours(1),
                file -> {
                    if (reads.incrementAndGet() == 1) {
                        throw new java.io.IOException("Too many open files"); // EMFILE, once
                    }
                    return Files.readAllBytes(file);
                })) {
            assertThat(store.lookup("task-1")).as("never read: invalid meanwhile, fail closed").get()
                    .isInstanceOf(StoredPolicy.Invalid.class);

            store.scanNow();

            assertThat(store.lookup("task-1")).contains(new StoredPolicy.Valid(FakePolicies.OPEN));
            assertThat(reads).hasValue(2);
        }
    }

    @Test
    void anEditThatCannotBeReadKeepsTheTasksLastPolicyUntilItCanBe() throws Exception {
        Path file = dir.resolve("task-1.json");
        Files.write(file, FakePolicies.OPEN_JSON);
        boolean[] failing = {false};
        try (DirectoryPolicyStore store = readingFailingWhile(failing, "Stale file handle")) { // ESTALE on NFS
            Files.write(file, FakePolicies.CLOSED_JSON);
            failing[0] = true;
            store.scanNow();
            assertThat(store.lookup("task-1")).as("the last policy stays").contains(new StoredPolicy.Valid(FakePolicies.OPEN));

            failing[0] = false;
            store.scanNow();
            assertThat(store.lookup("task-1")).contains(new StoredPolicy.Valid(FakePolicies.CLOSED));
        }
    }

    @Test
    void aFileThatStaysUnreadableMakesTheTasksPolicyInvalidAfterThreeScans() throws Exception {
        // replaced by a tighter policy the service may not read (mode 0600, another owner): the old one must not stay
        Path file = dir.resolve("task-1.json");
        Files.write(file, FakePolicies.OPEN_JSON);
        boolean[] failing = {false};
        try (DirectoryPolicyStore store = readingFailingWhile(failing, "Permission denied")) {
            Files.write(file, FakePolicies.CLOSED_JSON);
            failing[0] = true;
            for (int scan = 1; scan < DirectoryPolicyStore.FAILURES_NOT_READY; scan++) {
                store.scanNow();
                assertThat(store.lookup("task-1")).as("scan %d", scan).contains(new StoredPolicy.Valid(FakePolicies.OPEN));
            }
            store.scanNow();
            assertThat(store.lookup("task-1")).get().isInstanceOf(StoredPolicy.Invalid.class);

            failing[0] = false;
            store.scanNow();
            assertThat(store.lookup("task-1")).contains(new StoredPolicy.Valid(FakePolicies.CLOSED));
        }
    }

    /** A store of {@code dir}, scanning only when told, whose file reads fail with {@code error} while {@code failing[0]}. */
    private DirectoryPolicyStore readingFailingWhile(boolean[] failing, String error) {
        return DirectoryPolicyStore.open(dir, FakePolicies.DECODER, Duration.ofHours(1), f -> {
            if (failing[0]) {
                throw new java.io.IOException(error + ": " + f);
            }
            return Files.readAllBytes(f);
        });
    }

    @Test
    void aDirectoryThatCannotBeListedIsNotCaughtUpAndSaysWhy() throws Exception {
        Path gone = dir.resolve("policies");
        Files.createDirectory(gone);
        try (DirectoryPolicyStore store = DirectoryPolicyStore.open(gone, FakePolicies.DECODER, Duration.ofHours(1))) {
            assertThat(store.isCaughtUp()).isTrue();
            assertThat(store.notReadyReason()).isEmpty();
            Files.delete(gone); // unmounted under it, say
            for (int i = 0; i < DirectoryPolicyStore.FAILURES_NOT_READY; i++) {
                store.scanNow();
            }
            assertThat(store.notReadyReason()).get().asString()
                    .startsWith("cannot list policy directory " + gone + " (3 scans in a row)");

            Files.createDirectory(gone);
            store.scanNow();
            assertThat(store.notReadyReason()).isEmpty();
        }
    }

    @Test
    void aFileMissingFromOneScanKeepsItsPolicyAndOneMissingFromTwoIsRemoved() throws Exception {
        Path file = dir.resolve("task-1.json");
        Files.write(file, FakePolicies.OPEN_JSON);
        try (DirectoryPolicyStore store = openScanningOnlyWhenTold()) {
            Files.delete(file); // ln -sf: unlinked, then linked again
            store.scanNow();
            assertThat(store.lookup("task-1")).as("one scan missed it").contains(new StoredPolicy.Valid(FakePolicies.OPEN));
            Files.write(file, FakePolicies.OPEN_JSON);
            store.scanNow();
            Files.delete(file);
            store.scanNow();
            assertThat(store.lookup("task-1")).isPresent();
            store.scanNow();
            assertThat(store.lookup("task-1")).as("missing from two scans in a row").isEmpty();
        }
    }

    @Test
    void aFileOverTheSizeLimitIsInvalidWithoutBeingReadAndTheScannerGoesOn() throws Exception {
        Path huge = dir.resolve("task-1.json");
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(huge.toFile(), "rw")) {
            f.setLength(3L << 30); // sparse: 3 GiB that reading whole would not fit an array
        }
        try (DirectoryPolicyStore store = openScanningOnlyWhenTold()) {
            assertThat(store.lookup("task-1")).hasValueSatisfying(p -> assertThat(p)
                    .isEqualTo(new StoredPolicy.Invalid(java.util.List.of("policy document is 3221225472 bytes (at most "
                            + dev.netfence.policy.PolicyParser.MAX_DOCUMENT_BYTES + ")"))));
            Files.delete(huge);
            Files.write(dir.resolve("task-2.json"), FakePolicies.OPEN_JSON);
            store.scanNow();
            assertThat(store.lookup("task-2")).contains(new StoredPolicy.Valid(FakePolicies.OPEN));
        }
    }

    @Test
    void aMissingDirectoryIsRefused() {
        assertThatThrownBy(() -> DirectoryPolicyStore.open(dir.resolve("nope"), FakePolicies.DECODER, Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("policy directory does not exist: " + dir.resolve("nope"));
    }

    @Test
    void aScanThatHangsMakesTheStoreNotReadyUntilItReturns() throws Exception {
        Files.write(dir.resolve("task-1.json"), FakePolicies.OPEN_JSON);
        java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.CountDownLatch released = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger reads = new java.util.concurrent.atomic.AtomicInteger();
        DirectoryPolicyStore.FileReader hangsFromTheSecondRead = file -> {
            if (reads.incrementAndGet() > 1) {
                try {
                    released.await(); // a hard-mounted network file system that stopped answering
                } catch (InterruptedException e) {
                    throw new java.io.IOException(e);
                }
            }
            return Files.readAllBytes(file);
        };
        try (DirectoryPolicyStore store = DirectoryPolicyStore.open(dir, FakePolicies.DECODER, Duration.ofMillis(50),
                hangsFromTheSecondRead, now::get)) {
            assertThat(store.notReadyReason()).isEmpty();
            Files.write(dir.resolve("task-1.json"), FakePolicies.HOST_JSON); // read again by the next scan, which hangs
            await().atMost(Duration.ofSeconds(5)).until(() -> reads.get() >= 2);

            now.addAndGet(Duration.ofSeconds(29).toNanos());
            assertThat(store.notReadyReason()).as("a scan may take up to 30 s").isEmpty();
            now.addAndGet(Duration.ofSeconds(2).toNanos());
            assertThat(store.notReadyReason()).hasValueSatisfying(r -> assertThat(r)
                    .contains("a scan of policy directory " + dir + " has not returned for 31 s"));

            released.countDown();
            await().atMost(Duration.ofSeconds(5)).until(() -> store.notReadyReason().isEmpty());
        }
    }
}
