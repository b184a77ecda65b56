package dev.netfence.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Holds the host-global xtables lock ({@code /run/xtables.lock}, the file the legacy iptables
 * tools {@code flock(2)}) the way another program would: a child {@code flock LOCKFILE cat}.
 * {@code cat} only starts once {@code flock} has the lock, so a line written to it and echoed
 * back proves the lock is held. Java's own FileChannel locks are fcntl locks and would not
 * conflict with flock, hence the child. {@link #release()} closes cat's stdin, so cat and flock
 * exit and the lock file is closed; {@link #close()} also kills both by pid if they linger. The
 * lock is shared with everyone on the machine: hold it only briefly.
 */
public final class XtablesLockHolder implements AutoCloseable {
    public static final String LOCK_FILE = "/run/xtables.lock";

    private final Process flock;
    private final OutputStream stdin;

    private XtablesLockHolder(Process flock) {
        this.flock = flock;
        this.stdin = flock.getOutputStream();
    }

    /** Takes the lock (waiting for it if someone else holds it) and returns once it is held. */
    public static XtablesLockHolder hold() throws IOException {
        Process p = new ProcessBuilder(List.of("flock", LOCK_FILE, "cat"))
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        XtablesLockHolder holder = new XtablesLockHolder(p);
        try {
            holder.stdin.write("held\n".getBytes(StandardCharsets.US_ASCII));
            holder.stdin.flush();
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.US_ASCII));
            String echoed = CompletableFuture.supplyAsync(() -> {
                try {
                    return out.readLine();
                } catch (IOException e) {
                    return "ERROR " + e;
                }
            }).get(30, TimeUnit.SECONDS);
            if (!"held".equals(echoed)) {
                throw new IOException("flock " + LOCK_FILE + " did not take the lock: " + echoed);
            }
            return holder;
        } catch (IOException e) {
            holder.close();
            throw e;
        } catch (Exception e) {
            holder.close();
            throw new IOException("flock " + LOCK_FILE + " did not take the lock: " + e, e);
        }
    }

    /** Whether the holder process still runs (and so still holds the lock). */
    public boolean holding() {
        return flock.isAlive();
    }

    /** Lets go of the lock and waits until the holder processes are gone. */
    public void release() {
        List<ProcessHandle> children = flock.descendants().toList();
        try {
            stdin.close();
        } catch (IOException e) {
            // cat is gone already
        }
        try {
            if (!flock.waitFor(10, TimeUnit.SECONDS)) {
                children.forEach(ProcessHandle::destroyForcibly);
                flock.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            children.forEach(ProcessHandle::destroyForcibly);
            flock.destroyForcibly();
        }
    }

    @Override
    public void close() {
        if (flock.isAlive()) {
            release();
        }
    }
}
