package dev.netfence.netns;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Where a process's per-thread {@code /proc} files ({@code ns/net}, {@code net/dev},
 * {@code cgroup}) are read when its thread-group leader has exited while its other threads run:
 * the leader is then a zombie, and {@code /proc/PID/ns/net} and {@code /proc/PID/net/dev} answer
 * ENOENT (its {@code cgroup} names only the root on cgroup v1 lines), although the process lives
 * on in its namespace. A workload needs no capability for that ({@code pthread_exit} in
 * {@code main}), and reading only the leader's files took such a process for gone: its start
 * was skipped with CONTAINER_NOT_FOUND and never enforced, or a live container was released or
 * never reached by a policy update. So where the leader's {@code ns/net} is missing, the files of
 * the lowest-numbered thread whose {@code ns/net} still reads ({@code /proc/PID/task/TID}) stand
 * for the process; it is gone only when no thread's does.
 */
public final class ProcTasks {
    private ProcTasks() {}

    /**
     * {@code procRoot/PID/task/TID} of the lowest-numbered thread of {@code pid} other than the
     * leader whose {@code ns/net} reads; empty when there is none (the process is gone, or has no
     * other thread). Call it only when the leader's {@code ns/net} is missing.
     */
    public static Optional<Path> liveThread(Path procRoot, int pid) {
        for (Path task : threads(procRoot, pid)) {
            if (readable(task)) {
                return Optional.of(task);
            }
        }
        return Optional.empty();
    }

    /**
     * The namespace of {@code pid}: its leader's, or (the leader exited) its lowest live thread's;
     * NoSuchFileException when no thread's can be read.
     */
    public static NamespaceId namespaceOf(Path procRoot, int pid) throws IOException {
        Path leader = procRoot.resolve(Integer.toString(pid));
        try {
            return NamespaceId.of(leader.resolve("ns/net"));
        } catch (NoSuchFileException e) {
            Optional<Path> thread = liveThread(procRoot, pid);
            if (thread.isEmpty()) {
                throw e;
            }
            return NamespaceId.of(thread.get().resolve("ns/net"));
        }
    }

    /** The directory to read {@code pid}'s {@code cgroup} and {@code net/dev} from: the leader's, or its lowest live thread's. */
    public static Path view(Path procRoot, int pid) {
        Path leader = procRoot.resolve(Integer.toString(pid));
        if (readable(leader)) {
            return leader;
        }
        return liveThread(procRoot, pid).orElse(leader);
    }

    private static boolean readable(Path dir) {
        try {
            NamespaceId.of(dir.resolve("ns/net"));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static List<Path> threads(Path procRoot, int pid) {
        List<Long> tids = new ArrayList<>();
        try (DirectoryStream<Path> dir = Files.newDirectoryStream(procRoot.resolve(pid + "/task"))) {
            for (Path p : dir) {
                String name = p.getFileName().toString();
                if (!name.isEmpty() && name.length() < 10 && name.chars().allMatch(Character::isDigit)
                        && Long.parseLong(name) != pid) {
                    tids.add(Long.parseLong(name));
                }
            }
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
        tids.sort(null);
        List<Path> out = new ArrayList<>(tids.size());
        for (long tid : tids) {
            out.add(procRoot.resolve(pid + "/task/" + tid));
        }
        return out;
    }
}
