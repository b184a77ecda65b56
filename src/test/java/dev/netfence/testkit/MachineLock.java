package dev.netfence.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
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
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(MachineLock.class);

    @Override
    public void beforeAll(ExtensionContext context) {
        try {
            FileChannel channel = FileChannel.open(Path.of(PATH), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock = channel.lock(); // waits for the other JVM's class
            context.getStore(NS).put("lock", lock);
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
        }
    }
}
