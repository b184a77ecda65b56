package dev.netfence.enforce;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.netns.ProcFile;
import dev.netfence.netns.ProcessIdentity;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Names a process so that a pid reused by another process is told apart from it: its pidfs inode
 * ({@link ProcessIdentity#token()}) where the kernel has pidfs and the proc root is this
 * process's own {@code /proc}, else its start time (field 22 of {@code /proc/PID/stat}). Split out
 * of {@link NamespaceOwners}, which remembers containers by such tokens.
 */
final class ProcessTokens {
    private final Path procRoot;
    /** Tokens are pidfs inodes, not start times: pidfs, and pids of this very /proc. */
    private final boolean pidfs;

    ProcessTokens(Path procRoot) {
        this.procRoot = procRoot;
        this.pidfs = ProcessIdentity.tokens() && procRoot.equals(Path.of("/proc")) && ownPidNamespace(procRoot);
    }

    /** Whether {@code procRoot} numbers pids as this process's pid namespace does (where pidfds are opened). */
    private static boolean ownPidNamespace(Path procRoot) {
        try {
            return Long.toString(ProcessHandle.current().pid())
                    .equals(Files.readSymbolicLink(procRoot.resolve("self")).toString());
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /**
     * The token of the process {@code pid} names: {@code process}'s own when it is that pid (null
     * when it has exited meanwhile: the pid may name another process by now), else read now.
     * FIREWALL_UNAVAILABLE when it cannot be read though the process exists.
     */
    String claimant(int pid, ProcessIdentity process) {
        if (pidfs && process != null && process.pid() == pid) {
            if (!process.alive()) {
                return null;
            }
            String token = process.token();
            if (token != null) {
                return token;
            }
        }
        try {
            return of(pid);
        } catch (IOException e) {
            throw new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE,
                    "cannot name process " + pid + " to record it as its namespace's owner: " + e.getMessage(), e);
        }
    }

    /**
     * The token of the process {@code pid} names now (see the class comment), or null when the pid
     * is gone; IOException when a pidfs token cannot be read though the pid exists.
     */
    String of(int pid) throws IOException {
        return pidfs ? ProcessIdentity.tokenOf(pid) : startTime(pid);
    }

    /** Field 22 of {@code /proc/PID/stat} (start time in clock ticks since boot), or null when the pid is gone. */
    private String startTime(int pid) {
        try {
            return startTimeIn(ProcFile.read(procRoot.resolve(Integer.toString(pid)).resolve("stat")));
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Field 22 of a {@code stat} text, or null ({@link dev.netfence.netns.ProcessStart#ticksIn}). */
    static String startTimeIn(String stat) {
        return dev.netfence.netns.ProcessStart.ticksIn(stat);
    }
}
