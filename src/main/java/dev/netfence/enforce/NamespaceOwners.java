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
 *
 * <p>A quarantine is the whole namespace's, so the containers whose own failure quarantined it
 * (a refused capability, a deleted or invalid policy, rules that could not be written; never the
 * OCI hook's fence, nor a container quarantined only because another one is) are remembered too,
 * as the namespace's quarantined members, alive by the same test as owners. While one lives, no
 * other container's policy is written there: its claim, and the check under the namespace's write
 * turn just before its write ({@link #confirm}), fail with NAMESPACE_QUARANTINED and it is
 * quarantined too, without becoming a quarantined member itself. A container that reaches its
 * own write has passed its own checks, so it stops being a quarantined member there (refused or
 * not): two members quarantined for their own reasons never keep each other out once the reasons
 * are gone. A quarantined member is recorded under the write turn of its quarantine
 * ({@link #quarantined}), before the quarantine is written, so a policy write either comes first
 * and is overwritten, or comes after and is refused.
 */
final class NamespaceOwners {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(NamespaceOwners.class);
    static final int SWEEP_AT = 4096;

    /**
     * One member: a container, its policy digest (an owner) or the code of its quarantine (a
     * quarantined member), and the process it was found through (pid and token).
     */
    private record Owner(String digest, int pid, String token) {}

    /** A namespace's owners and quarantined members; read and changed only under its own monitor. */
    private static final class Members {
        final Map<String, Owner> owners = new LinkedHashMap<>();
        final Map<String, Owner> quarantined = new LinkedHashMap<>(0);

        boolean isEmpty() {
            return owners.isEmpty() && quarantined.isEmpty();
        }
    }

    /** No pid: nothing known beforehand. */
    private static final int NO_PID = -1;

    private final Path procRoot;
    /** Tokens are pidfs inodes ({@link ProcessIdentity#token()}), not start times: pidfs, and pids of this very /proc. */
    private final boolean pidfs;
    /** Per namespace, its members; a namespace's {@link Members} is read and changed only under its own monitor. */
    private final Map<NamespaceId, Members> owners = new ConcurrentHashMap<>();
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
     * NAMESPACE_SHARED when another live owner holds a different digest, or NAMESPACE_QUARANTINED
     * when another live member is quarantined there (see the class comment). A null containerId
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
            Members current = owners.computeIfAbsent(ns.id(), k -> new Members());
            synchronized (current) {
                if (owners.get(ns.id()) != current) {
                    continue; // swept away empty between the look-up and the lock: take the new one
                }
                // the claiming pid's token, read once: it also serves the liveness of an owner found through that pid
                String token = claimant(ns.pid(), process);
                // the claimant's own entry is replaced below when its pid lives (token known), so its liveness is not looked at
                prune(ns.id(), current.owners, token == null ? null : containerId, ns.pid(), token);
                for (Map.Entry<String, Owner> other : current.owners.entrySet()) {
                    if (!other.getKey().equals(containerId) && !other.getValue().digest().equals(digest)) {
                        throw new EnforcementException(ErrorCode.NAMESPACE_SHARED, "the network namespace of pid "
                                + ns.pid() + " (inode " + ns.inode() + ") is enforced for container " + other.getKey()
                                + " with policy " + other.getValue().digest() + "; container " + containerId
                                + " has policy " + digest + " (containers sharing a namespace must share one policy)");
                    }
                }
                refuseWhileQuarantined(ns.id(), current, containerId, ns.pid(), token);
                if (token != null) {
                    current.owners.put(containerId, new Owner(digest, ns.pid(), token));
                } else if (current.isEmpty()) {
                    owners.remove(ns.id(), current);
                }
                return;
            }
        }
    }

    /**
     * Called under the namespace's write turn just before {@code containerId}'s policy is written
     * into {@code ns}: NAMESPACE_QUARANTINED when another live member is quarantined there (one
     * recorded since the claim); {@code containerId} stops being a quarantined member either way.
     */
    void confirm(PinnedNamespace ns, String containerId) {
        if (containerId == null) {
            return;
        }
        Members current = owners.get(ns.id());
        if (current == null) {
            return;
        }
        synchronized (current) {
            if (!current.quarantined.isEmpty()) {
                refuseWhileQuarantined(ns.id(), current, containerId, NO_PID, null);
            }
        }
    }

    /** Drops {@code containerId} from the quarantined members; throws when another live one is left. */
    private void refuseWhileQuarantined(NamespaceId id, Members current, String containerId, int knownPid,
            String knownToken) {
        current.quarantined.remove(containerId);
        prune(id, current.quarantined, null, knownPid, knownToken);
        if (current.quarantined.isEmpty()) {
            return;
        }
        Map.Entry<String, Owner> holder = current.quarantined.entrySet().iterator().next();
        throw new EnforcementException(ErrorCode.NAMESPACE_QUARANTINED, "container " + holder.getKey()
                + " shares this network namespace (inode " + id.inode() + ") and is quarantined ("
                + holder.getValue().digest() + "); its quarantine holds for the whole namespace until its policy"
                + " is applied or it has gone, so container " + containerId + " is quarantined with it");
    }

    /**
     * Records {@code containerId}, found through {@code pid}, as a member of namespace {@code id}
     * quarantined for its own failure {@code code}; call under the namespace's write turn, before
     * the quarantine is written. Nothing is recorded for a pid that is gone or no longer in
     * {@code id}, nor for a null containerId.
     */
    void quarantined(NamespaceId id, String containerId, ErrorCode code, int pid) {
        if (containerId != null) {
            record(id, containerId, code.code(), pid, true);
        }
    }

    /** Whether a live owner other than {@code containerId} holds namespace {@code id} and no member is quarantined there. */
    boolean enforcedForAnother(NamespaceId id, String containerId) {
        Members current = owners.get(id);
        if (current == null) {
            return false;
        }
        synchronized (current) {
            prune(id, current.quarantined, null, NO_PID, null);
            if (!current.quarantined.isEmpty()) {
                return false;
            }
            prune(id, current.owners, null, NO_PID, null);
            return current.owners.keySet().stream().anyMatch(owner -> !owner.equals(containerId));
        }
    }

    /**
     * Re-records an owner known from before a restart: {@code containerId} with {@code digest},
     * found through {@code pid} in namespace {@code id}; ignored when that pid is gone or no longer
     * in {@code id} (the owner would be pruned at once). Never refuses: what was in force before
     * the restart is what the owners were.
     */
    void restore(NamespaceId id, String containerId, String digest, int pid) {
        Objects.requireNonNull(digest, "digest");
        record(id, containerId, digest, pid, false);
    }

    /** Re-records a member quarantined for its own failure {@code code} before a restart (as {@link #restore}). */
    void restoreQuarantined(NamespaceId id, String containerId, String code, int pid) {
        Objects.requireNonNull(code, "code");
        record(id, containerId, code, pid, true);
    }

    private void record(NamespaceId id, String containerId, String value, int pid, boolean quarantine) {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(containerId, "containerId");
        String token;
        try {
            token = token(pid);
        } catch (IOException e) {
            LOG.warn("cannot name process {} to record container {} in its namespace: {}", pid, containerId,
                    e.getMessage());
            token = null; // not recorded: as if the process were gone
        }
        Owner owner = new Owner(value, pid, token == null ? "" : token);
        if (token == null || !alive(owner, id, pid, token)) {
            return;
        }
        while (true) {
            Members current = owners.computeIfAbsent(id, k -> new Members());
            synchronized (current) {
                if (owners.get(id) == current) {
                    (quarantine ? current.quarantined : current.owners).put(containerId, owner);
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
            for (Map.Entry<NamespaceId, Members> e : owners.entrySet()) {
                Members current = e.getValue();
                synchronized (current) {
                    prune(e.getKey(), current.quarantined, null, NO_PID, null);
                    prune(e.getKey(), current.owners, null, NO_PID, null);
                    if (current.isEmpty()) {
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

    /** Owners and quarantined members recorded (live or not yet pruned), for tests. */
    int size() {
        int n = 0;
        for (Members current : owners.values()) {
            synchronized (current) {
                n += current.owners.size() + current.quarantined.size();
            }
        }
        return n;
    }
}
