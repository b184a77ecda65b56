package dev.netfence.policy.store;

import dev.netfence.policy.PolicyParser;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Policies from a directory ({@code --policy-dir}): one {@code <taskId>.json} per task. The
 * directory is rescanned on a fixed interval and a file is re-read when its modification time,
 * change time, size or inode changed (an edit keeping size and modification time, a file copied
 * with its times kept, is still seen); a file over the policy size limit is invalid without being
 * read; a file missing from two scans in a row removes its policy (one scan missing it, a
 * non-atomic replacement such as {@code ln -sf}, changes nothing). A scan that fails, even with an
 * {@code Error}, is logged and the next one runs. Polling rather than a WatchService because it
 * also works on network and bind-mounted file systems where change events are not delivered.
 * The first scan happens in {@link #open}: the store is caught up once a scan has listed the
 * directory, and not ready (with the error) while three scans in a row cannot list it. A file that
 * cannot be read (an I/O error, not its content) is read again at each scan, its task's last
 * policy kept for {@link #FAILURES_NOT_READY} scans (a transient EMFILE, ESTALE), then invalid: fail
 * closed until it can be read (a file made unreadable must not keep an older policy in force); a
 * task never read is invalid from the first failure. A scan that has not returned for
 * {@link #stallAfter} (three intervals, at least 30 s: a hard-mounted network file system that
 * hangs a read) makes the store not ready too, as no later scan can run while it hangs.
 */
public final class DirectoryPolicyStore implements PolicyStore {
    private static final Logger LOG = LoggerFactory.getLogger(DirectoryPolicyStore.class);
    private static final Pattern TASK_ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");
    /** How often the directory is rescanned unless told otherwise. */
    public static final Duration DEFAULT_SCAN_INTERVAL = Duration.ofMillis(500);

    private final Path dir;
    private final PolicyDecoder decoder;
    private final PolicyTable table = new PolicyTable();
    private final Map<String, FileStamp> seen = new HashMap<>();
    private final ScheduledExecutorService scanner;

    private record FileStamp(Object modified, Object changed, long size, Object fileKey) {}

    /** Reads a policy file's bytes ({@link Files#readAllBytes} but in tests). */
    @FunctionalInterface
    interface FileReader {
        byte[] read(Path file) throws IOException;
    }

    private final FileReader reader;

    /** Tasks whose file the last scan did not find: removed when the next one does not either. */
    private final Set<String> missedOnce = new HashSet<>();
    /** Tasks whose file could not be read, and how many scans in a row. */
    private final Map<String, Integer> readFailures = new HashMap<>();
    /** A scan has listed the directory. */
    private volatile boolean listedOnce;
    /** Scans in a row that could not list the directory, and the last one's error. */
    private volatile int listingFailures;
    private volatile String listingError;
    /** From this many failed listings in a row the store is not ready. */
    static final int FAILURES_NOT_READY = 3;

    /** When the scan running now started ({@link #nanoTime}), or {@link #IDLE}. */
    private volatile long scanStarted = IDLE;
    private static final long IDLE = Long.MIN_VALUE;
    private final java.util.function.LongSupplier nanoTime;
    private final long stallNanos;

    private DirectoryPolicyStore(Path dir, PolicyDecoder decoder, FileReader reader, Duration interval,
            java.util.function.LongSupplier nanoTime) {
        this.dir = dir;
        this.decoder = decoder;
        this.reader = reader;
        this.nanoTime = nanoTime;
        this.stallNanos = stallAfter(interval).toNanos();
        this.scanner = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "netfence-policy-dir");
            t.setDaemon(true);
            return t;
        });
    }

    /** Reads every policy in {@code dir} now, then rescans every {@code interval}. */
    public static DirectoryPolicyStore open(Path dir, PolicyDecoder decoder, Duration interval) {
        return open(dir, decoder, interval, Files::readAllBytes);
    }

    /** As {@link #open(Path, PolicyDecoder, Duration)}, reading files with {@code reader} (tests). */
    static DirectoryPolicyStore open(Path dir, PolicyDecoder decoder, Duration interval, FileReader reader) {
        return open(dir, decoder, interval, reader, System::nanoTime);
    }

    /** As above, a scan's time taken on {@code nanoTime} (tests). */
    static DirectoryPolicyStore open(Path dir, PolicyDecoder decoder, Duration interval, FileReader reader,
            java.util.function.LongSupplier nanoTime) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("policy directory does not exist: " + dir);
        }
        DirectoryPolicyStore store = new DirectoryPolicyStore(dir, decoder, reader, interval, nanoTime);
        store.scanQuietly();
        long ms = Math.max(10, interval.toMillis());
        store.scanner.scheduleWithFixedDelay(store::scanQuietly, ms, ms, TimeUnit.MILLISECONDS);
        return store;
    }

    @Override
    public Optional<StoredPolicy> lookup(String taskId) {
        return table.get(taskId);
    }

    @Override
    public Optional<StoredPolicy> await(String taskId, Duration timeout) throws InterruptedException {
        return table.await(taskId, timeout);
    }

    @Override
    public CompletableFuture<Optional<StoredPolicy>> whenAvailable(String taskId, Duration timeout) {
        return table.whenAvailable(taskId, timeout);
    }

    @Override
    public void onChange(Consumer<String> listener) {
        table.onChange(listener);
    }

    @Override
    public boolean isCaughtUp() {
        return listedOnce;
    }

    /** How long a scan may run before the store is not ready: three intervals, at least 30 s. */
    static Duration stallAfter(Duration interval) {
        Duration three = interval.multipliedBy(3);
        return three.compareTo(Duration.ofSeconds(30)) > 0 ? three : Duration.ofSeconds(30);
    }

    @Override
    public Optional<String> notReadyReason() {
        long started = scanStarted;
        if (started != IDLE) {
            long running = nanoTime.getAsLong() - started;
            if (running > stallNanos) {
                return Optional.of("a scan of policy directory " + dir + " has not returned for "
                        + TimeUnit.NANOSECONDS.toSeconds(running) + " s (a file system that hangs?): policy changes are"
                        + " not read meanwhile");
            }
        }
        int failures = listingFailures;
        return failures < FAILURES_NOT_READY && listedOnce ? Optional.empty()
                : Optional.of("cannot list policy directory " + dir + " (" + failures + " scans in a row): "
                        + listingError);
    }

    private void scanQuietly() {
        try {
            scan();
        } catch (RuntimeException | Error e) { // an Error too: uncaught, the executor would never scan again
            LOG.warn("scanning policy directory {} failed: {}", dir, e.toString());
        }
    }

    /** Scans now, on the caller's thread (tests). */
    void scanNow() {
        scanQuietly();
    }

    /** One scan at a time; {@link #scanStarted} marks it while it runs (set under the lock: a scan waiting for it is none). */
    private synchronized void scan() {
        scanStarted = nanoTime.getAsLong();
        try {
            scanListed();
        } finally {
            scanStarted = IDLE;
        }
    }

    private void scanListed() {
        Set<String> present = new HashSet<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.json")) {
            for (Path file : files) {
                String name = file.getFileName().toString();
                String taskId = name.substring(0, name.length() - ".json".length());
                if (!TASK_ID.matcher(taskId).matches()) {
                    continue;
                }
                Map<String, Object> attrs;
                try {
                    attrs = Files.readAttributes(file, "unix:isRegularFile,lastModifiedTime,ctime,size,fileKey");
                } catch (IOException gone) {
                    continue;
                }
                if (!Boolean.TRUE.equals(attrs.get("isRegularFile"))) {
                    continue;
                }
                present.add(taskId);
                long size = (Long) attrs.get("size");
                FileStamp stamp = new FileStamp(attrs.get("lastModifiedTime"), attrs.get("ctime"), size,
                        attrs.get("fileKey"));
                if (!stamp.equals(seen.get(taskId))) {
                    StoredPolicy policy = size > PolicyParser.MAX_DOCUMENT_BYTES ? new StoredPolicy.Invalid(List.of(
                            "policy document is " + size + " bytes (at most " + PolicyParser.MAX_DOCUMENT_BYTES + ")"))
                            : read(file, taskId);
                    if (policy != null) {
                        seen.put(taskId, stamp);
                        table.put(taskId, policy);
                    }
                }
            }
        } catch (IOException | java.nio.file.DirectoryIteratorException e) {
            listingFailures++;
            listingError = e.toString();
            LOG.warn("cannot list policy directory {}: {}", dir, e.toString());
            return;
        }
        listingFailures = 0;
        listedOnce = true;
        for (String gone : Set.copyOf(seen.keySet())) {
            if (present.contains(gone)) {
                missedOnce.remove(gone);
            } else if (!missedOnce.add(gone)) { // missing twice in a row
                missedOnce.remove(gone);
                seen.remove(gone);
                table.remove(gone);
            }
        }
    }

    /**
     * The policy in {@code file}; null when it could not be read (an I/O error: read again at the
     * next scan; the task's last policy stays, a task without one gets an invalid one meanwhile).
     */
    private StoredPolicy read(Path file, String taskId) {
        byte[] bytes;
        try {
            bytes = reader.read(file);
        } catch (IOException e) {
            int failed = readFailures.merge(taskId, 1, Integer::sum);
            boolean kept = table.get(taskId).isPresent();
            StoredPolicy invalid = new StoredPolicy.Invalid(List.of("cannot read " + file + ": " + e.getMessage()));
            if (failed == 1) {
                LOG.warn("cannot read policy file {} ({}); read again at each scan{}", file, e.toString(),
                        kept ? ", the task's last policy stays for " + FAILURES_NOT_READY + " scans" : "");
            }
            if (!kept || failed >= FAILURES_NOT_READY) {
                if (failed == FAILURES_NOT_READY && kept) {
                    LOG.warn("policy file {} could not be read {} scans in a row ({}): the task's policy is invalid"
                            + " (fail closed) until it can be", file, failed, e.toString());
                }
                table.put(taskId, invalid); // a file made unreadable (its mode, its owner) must not keep an old policy
            }
            return null;
        }
        readFailures.remove(taskId);
        try {
            return decoder.decode(bytes);
        } catch (RuntimeException e) {
            return new StoredPolicy.Invalid(List.of("cannot read " + file + ": " + e.getMessage()));
        }
    }

    @Override
    public void close() {
        scanner.shutdownNow();
    }
}
