package dev.netfence.enforce;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.netns.ProcFile;
import dev.netfence.netns.ProcessIdentity;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Which containers own each network namespace netfence enforced, and with which policy digest,
 * so that two containers sharing a namespace (a pod) cannot overwrite each other's rules: a
 * container whose policy digest differs from that of another live owner of its namespace is
 * refused with NAMESPACE_SHARED before anything is written; the same digest is fine (the rules
 * are the same). Keyed by the namespace's identity (device and inode). An owner counts while its
 * process lives in that namespace: its pid is remembered with a token of the process (its pidfs
 * inode, {@link ProcessIdentity#token()}, where the kernel has pidfs and the proc root is
 * {@code /proc}; else its start time in {@code /proc/PID/stat}), so an owner that exited, or a pid
 * reused by another process, or a namespace inode reused after the old namespace died, is dropped
 * the next time the namespace is looked at; the map is swept whole when it grows past {@link #SWEEP_AT} entries. Kept in
 * memory; after a restart {@code netfence run} re-records the owners its live set knows
 * ({@link #restore}) before any event is processed, so the first apply after a restart does not
 * claim a namespace that another enforced container owns. Thread-safe: each namespace's owners
 * are looked at under that namespace's own lock, so the {@code /proc} reads of one claim never
 * hold up claims of other namespaces (a process-wide lock here made every apply take turns for
 * three {@code /proc} reads; found with a profile of the enforcement benchmark).
 */
final class NamespaceOwners {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(NamespaceOwners.class);
    static final int SWEEP_AT = 4096;

    /** One owner: a container, its policy digest, and the process it was found through (pid and token). */
    private record Owner(String digest, int pid, String token) {}

    /** No pid: nothing known beforehand. */
    private static final int NO_PID = -1;

    private final Path procRoot;
    /** Tokens are pidfs inodes ({@link ProcessIdentity#token()}), not start times: pidfs, and pids of this very /proc. */
    private final boolean pidfs;
    /** Per namespace, its owners; a namespace's map is read and changed only under its own monitor. */
    private final Map<NamespaceId, Map<String, Owner>> owners = new ConcurrentHashMap<>();
    private final AtomicBoolean sweeping = new AtomicBoolean();

    NamespaceOwners(Path procRoot) {
        this.procRoot = Objects.requireNonNull(procRoot, "procRoot");
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
     * Records {@code containerId} with {@code digest} as an owner of {@code ns}, or throws
     * NAMESPACE_SHARED when another live owner holds a different digest. A null containerId
     * (a bare {@code netfence apply --pid}) claims nothing and is never refused. {@code process}
     * (null: none) is the pin's pid opened before the pin; alive now, it names the very process
     * pinned, and its token costs no {@code /proc} read.
     */
    void claim(PinnedNamespace ns, String containerId, String digest, ProcessIdentity process) {
        if (containerId == null) {
            return;
        }
        if (owners.size() > SWEEP_AT) {
            sweep();
        }
        while (true) {
            Map<String, Owner> current = owners.computeIfAbsent(ns.id(), k -> new LinkedHashMap<>());
            synchronized (current) {
                if (owners.get(ns.id()) != current) {
                    continue; // swept away empty between the look-up and the lock: take the new one
                }
                // the claiming pid's token, read once: it also serves the liveness of an owner found through that pid
                String token = claimant(ns.pid(), process);
                // the claimant's own entry is replaced below when its pid lives (token known), so its liveness is not looked at
                prune(ns.id(), current, token == null ? null : containerId, ns.pid(), token);
                for (Map.Entry<String, Owner> other : current.entrySet()) {
                    if (!other.getKey().equals(containerId) && !other.getValue().digest().equals(digest)) {
                        throw new EnforcementException(ErrorCode.NAMESPACE_SHARED, "the network namespace of pid "
                                + ns.pid() + " (inode " + ns.inode() + ") is enforced for container " + other.getKey()
                                + " with policy " + other.getValue().digest() + "; container " + containerId
                                + " has policy " + digest + " (containers sharing a namespace must share one policy)");
                    }
                }
                if (token != null) {
                    current.put(containerId, new Owner(digest, ns.pid(), token));
                } else if (current.isEmpty()) {
                    owners.remove(ns.id(), current);
                }
                return;
            }
        }
    }

    /**
     * Re-records an owner known from before a restart: {@code containerId} with {@code digest},
     * found through {@code pid} in namespace {@code id}; ignored when that pid is gone or no longer
     * in {@code id} (the owner would be pruned at once). Never refuses: what was in force before
     * the restart is what the owners were.
     */
    void restore(NamespaceId id, String containerId, String digest, int pid) {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(containerId, "containerId");
        Objects.requireNonNull(digest, "digest");
        String token;
        try {
            token = token(pid);
        } catch (IOException e) {
            LOG.warn("cannot name process {} to restore it as the owner of its namespace for container {}: {}", pid,
                    containerId, e.getMessage());
            token = null; // not restored: the first apply into the namespace claims it
        }
        Owner owner = new Owner(digest, pid, token == null ? "" : token);
        if (token == null || !alive(owner, id, pid, token)) {
            return;
        }
        while (true) {
            Map<String, Owner> current = owners.computeIfAbsent(id, k -> new LinkedHashMap<>());
            synchronized (current) {
                if (owners.get(id) == current) {
                    current.put(containerId, owner);
                    return;
                }
            }
        }
    }

    /** Drops dead owners everywhere, and namespaces left without one; one sweep at a time. */
    private void sweep() {
        if (!sweeping.compareAndSet(false, true)) {
            return;
        }
        try {
            for (Map.Entry<NamespaceId, Map<String, Owner>> e : owners.entrySet()) {
                Map<String, Owner> current = e.getValue();
                synchronized (current) {
                    if (prune(e.getKey(), current, null, NO_PID, null)) {
                        owners.remove(e.getKey(), current);
                    }
                }
            }
        } finally {
            sweeping.set(false);
        }
    }

    /**
     * Drops owners that no longer live in {@code id}, except {@code keep} (null: none), whose entry
     * the caller is about to replace; true when none is left. {@code knownToken} is
     * {@code knownPid}'s token as just read (null: gone), so it is not read again.
     */
    private boolean prune(NamespaceId id, Map<String, Owner> current, String keep, int knownPid, String knownToken) {
        for (Iterator<Map.Entry<String, Owner>> it = current.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, Owner> entry = it.next();
            if (!entry.getKey().equals(keep) && !alive(entry.getValue(), id, knownPid, knownToken)) {
                it.remove();
            }
        }
        return current.isEmpty();
    }

    /**
     * Whether {@code owner}'s process (same pid, same token) still lives in {@code id}; when the
     * token cannot be read though the pid exists, the pid's being in {@code id} decides (a
     * namespace's owner is not given up on a failed read).
     */
    private boolean alive(Owner owner, NamespaceId id, int knownPid, String knownToken) {
        String now;
        try {
            now = owner.pid() == knownPid ? knownToken : token(owner.pid());
        } catch (IOException e) {
            now = owner.token();
        }
        if (!owner.token().equals(now)) {
            return false;
        }
        try {
            return NamespaceId.of(procRoot.resolve(Integer.toString(owner.pid())).resolve("ns/net")).equals(id);
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * The token of the process {@code pid} names: {@code process}'s own when it is that pid (null
     * when it has exited meanwhile: the pid may name another process by now), else read now.
     * FIREWALL_UNAVAILABLE when it cannot be read though the process exists.
     */
    private String claimant(int pid, ProcessIdentity process) {
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
            return token(pid);
        } catch (IOException e) {
            throw new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE,
                    "cannot name process " + pid + " to record it as its namespace's owner: " + e.getMessage(), e);
        }
    }

    /**
     * The token of the process {@code pid} names now (see the class comment), or null when the pid
     * is gone; IOException when a pidfs token cannot be read though the pid exists.
     */
    private String token(int pid) throws IOException {
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

    /**
     * Field 22 of a {@code stat} text, or null when it has fewer fields: the fields after the
     * name's closing parenthesis (the last one: the name is the process's own choice) are
     * separated by single spaces, the first of them field 3.
     */
    static String startTimeIn(String stat) {
        int at = stat.lastIndexOf(')');
        if (at < 0) {
            return null;
        }
        at += 2;
        for (int field = 3; field < 22; field++) {
            int space = stat.indexOf(' ', at);
            if (space < 0) {
                return null;
            }
            at = space + 1;
        }
        int end = stat.indexOf(' ', at);
        String start = stat.substring(Math.min(at, stat.length()), end < 0 ? stat.length() : end).strip();
        return start.isEmpty() ? null : start;
    }

    /** Owners recorded (live or not yet pruned), for tests. */
    int size() {
        int n = 0;
        for (Map<String, Owner> current : owners.values()) {
            synchronized (current) {
                n += current.size();
            }
        }
        return n;
    }
}
