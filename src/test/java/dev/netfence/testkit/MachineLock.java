package dev.netfence.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Holds a lock of the whole machine for a test class: an exclusive {@code flock}-style lock on
 * {@value #PATH}, taken before the class's other extensions (register it first) and given back
 * after them. Surefire runs the unit tests in three JVMs at once; the classes whose proofs another
 * JVM's classes could disturb take this lock, so no two of them run at the same time on the
 * machine: those that run podman containers (their bridge frames reach the host guard's frame
 * listeners, and the host guard's chains live in one host table) or netfence's host guard, and
 * one that holds the xtables lock on purpose. Classes that use only the namespaces they create,
 * and the Kafka and plain classes, run beside them. Why: the kernel tests mostly wait (on
 * processes, timeouts, probes that must not get through), and `.ci/run` must stay inside its time
 * budget.
 */
public final class MachineLock implements BeforeAllCallback, AfterAllCallback {
    static final String PATH = "/tmp/netfence-tests-machine.lock";
    static final String LOG = "target/machine-lock.log";
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(MachineLock.class);

    @Override
    public void beforeAll(ExtensionContext context) {
        try {
            FileChannel channel = FileChannel.open(Path.of(PATH), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            long asked = System.nanoTime();
            FileLock lock = channel.lock(); // waits for the other JVM's class
            context.getStore(NS).put("lock", lock);
            context.getStore(NS).put("held", System.nanoTime());
            record(context, "took", asked);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot take the machine lock " + PATH, e);
        }
    }

    @Override
    public void afterAll(ExtensionContext context) throws IOException {
        FileLock lock = context.getStore(NS).remove("lock", FileLock.class);
        if (lock != null) {
            lock.release();
            lock.channel().close();
            Long held = context.getStore(NS).remove("held", Long.class);
            record(context, "gave back", held == null ? System.nanoTime() : held);
        }
    }

    /**
     * One line in {@value #LOG} (when the working directory has a {@code target}): when, which class,
     * what it did, and the milliseconds since {@code since} (waited before taking, held before giving
     * back). The lock's holders are the unit tests' longest chain; the log shows where it goes.
     */
    private static void record(ExtensionContext context, String what, long since) {
        Path log = Path.of(LOG);
        if (!Files.isDirectory(log.getParent())) {
            return;
        }
        String line = String.format("%s %s %s %d ms%n", java.time.Instant.now(), context.getRequiredTestClass().getSimpleName(),
                what, (System.nanoTime() - since) / 1_000_000);
        try {
            Files.writeString(log, line, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            // a record only: the lock is what counts
        }
    }
}
