package dev.netfence.enforce;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.netns.ProcessIdentity;
import java.io.IOException;
import java.nio.file.Path;
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
 * are the same), and so is another owner of the same task (a task has one policy: a different
 * digest there is a policy update, or a new release's reading of it, that reached one member
 * first; refusing it would keep every member of the pod on the old rules for good), and so is
 * another owner whose task's current policy (the store's, {@link TaskPolicies}) already has the
 * claimed digest (members of different tasks with equal policies, one reached by the update
 * first: the other follows at its own re-apply; without it both refused each other for good). Keyed by the namespace's identity (device and inode). An owner counts while its
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
 * as the namespace's quarantined members, each while its process lives (wherever it is: moving
 * itself out of the namespace does not lift its quarantine) until its container leaves
 * ({@link #left}). While one is left, no other container's policy is written there: its claim, and
 * the check in the namespace's write turn just before its write ({@link #confirm}), fail with
 * NAMESPACE_QUARANTINED and it is quarantined too, without becoming a quarantined member itself.
 * A member refused so has passed its own checks, and one that writes its own policy replaces its
 * quarantine: either stops being a quarantined member, so two members quarantined for their own
 * reasons never keep each other out once the reasons are gone. A quarantined member is recorded
 * before its quarantine is written ({@link #quarantined}) and dropped when it cannot be
 * ({@link #notQuarantined}); writes into one namespace take turns, so a policy write either comes
 * first and is overwritten, or comes after and is refused.
 */
final class NamespaceOwners {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(NamespaceOwners.class);
    static final int SWEEP_AT = 4096;

    /**
     * One member: a container, its policy digest (an owner) or the code of its quarantine (a
     * quarantined member), and the process it was found through (pid and token).
     */
    record Owner(String digest, String task, int pid, String token) {}

    /** A namespace's owners and quarantined members; read and changed only under its own monitor. */
    private static final class Members {
        final Map<String, Owner> owners = new LinkedHashMap<>();
        final Map<String, Owner> quarantined = new MemberLiveness.QuarantinedMembers();

        boolean isEmpty() {
            return owners.isEmpty() && quarantined.isEmpty();
        }
    }

    /** No pid: nothing known beforehand. */
    private static final int NO_PID = -1;

    private final ProcessTokens tokens;
    private final MemberLiveness liveness;
    /** What each member's last capability read found, for the other members of its namespace. */
    private final MemberReads reads;
    /** Per namespace, its members; a namespace's {@link Members} is read and changed only under its own monitor. */
    private final Map<NamespaceId, Members> owners = new ConcurrentHashMap<>();
    private final AtomicBoolean sweeping = new AtomicBoolean();

    /** The policy digest each task's current policy has (null: not known), see {@link #claim}. */
    private final java.util.function.Function<String, String> currentDigests;

    NamespaceOwners(Path procRoot) {
        this(procRoot, task -> null);
    }

    NamespaceOwners(Path procRoot, java.util.function.Function<String, String> currentDigests) {
        this(procRoot, currentDigests, dev.netfence.core.SteadyClock.system());
    }

    /** {@code clock}: what the budget of a scan for an owner's processes is measured on ({@link MemberLiveness}). */
    NamespaceOwners(Path procRoot, java.util.function.Function<String, String> currentDigests, java.time.Clock clock) {
        Objects.requireNonNull(procRoot, "procRoot");
        this.tokens = new ProcessTokens(procRoot);
        this.liveness = new MemberLiveness(procRoot, tokens, Objects.requireNonNull(clock, "clock"));
        this.reads = new MemberReads(tokens, liveness);
        this.currentDigests = Objects.requireNonNull(currentDigests, "currentDigests");
    }

    /**
     * Records {@code containerId} of task {@code taskId} (null: unknown) with {@code digest} as an
     * owner of {@code ns}, or throws NAMESPACE_SHARED when another live owner of another task
     * holds a different digest and its task's current policy does not have {@code digest} either, or NAMESPACE_QUARANTINED
     * when another live member is quarantined there (see the class comment). A null containerId
     * (a bare {@code netfence apply --pid}) claims nothing and is never refused. {@code process}
     * (null: none) is the pin's pid opened before the pin; alive now, it names the very process
     * pinned, and its token costs no {@code /proc} read. A refusal where every owner is kept only
     * because the scan for its container's processes ran out carries {@link UnconfirmedOwners}.
     */
    void claim(PinnedNamespace ns, String containerId, String taskId, String digest, ProcessIdentity process) {
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
                String token = tokens.claimant(ns.pid(), process);
                // the claimant's own entry is replaced below when its pid lives (token known), so its liveness is not looked at
                java.util.Set<String> unconfirmed = new java.util.HashSet<>(0);
                liveness.prune(ns.id(), current.owners, token == null ? null : containerId, ns.pid(), token,
                        unconfirmed);
                for (Map.Entry<String, Owner> other : current.owners.entrySet()) {
                    if (!other.getKey().equals(containerId) && !other.getValue().digest().equals(digest)
                            && !(taskId != null && taskId.equals(other.getValue().task()))
                            && !behindUpdateTo(other.getValue(), digest)) {
                        throw new EnforcementException(ErrorCode.NAMESPACE_SHARED, "the network namespace of pid "
                                + ns.pid() + " (inode " + ns.inode() + ") is enforced for container " + other.getKey()
                                + " with policy " + other.getValue().digest() + "; container " + containerId
                                + " has policy " + digest + " (containers sharing a namespace must share one policy)",
                                UnconfirmedOwners.of(current.owners.keySet(), containerId, unconfirmed));
                    }
                }
                refuseWhileQuarantined(ns.id(), current, containerId, ns.pid(), token, false);
                if (token != null) {
                    current.owners.put(containerId, new Owner(digest, taskId, ns.pid(), token));
                } else if (current.isEmpty()) {
                    owners.remove(ns.id(), current);
                }
                return;
            }
        }
    }

    /**
     * Whether {@code other}'s task's current policy already has {@code digest}: a policy update
     * that reached the claimant first, which {@code other} will take at its own re-apply. Looked
     * up only when the digests differ (the policy store's in-memory map, one digest).
     */
    private boolean behindUpdateTo(Owner other, String digest) {
        return other.task() != null && digest.equals(currentDigests.apply(other.task()));
    }

    /**
     * Called under the namespace's write turn just before {@code containerId}'s policy is written
     * into {@code ns}: NAMESPACE_QUARANTINED when another live member is quarantined there (one
     * recorded since the claim); {@code containerId} stops being a quarantined member either way
     * (its own checks passed, and its policy is about to replace its quarantine).
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
                refuseWhileQuarantined(ns.id(), current, containerId, NO_PID, null, true);
            }
        }
    }

    /**
     * Throws NAMESPACE_QUARANTINED when a live quarantined member other than {@code containerId} is
     * left; {@code containerId} stops being a quarantined member when refused (it got past its own
     * checks: only the other keeps it out, so two members never keep each other out) or when
     * {@code leaving} (about to write its policy).
     */
    private void refuseWhileQuarantined(NamespaceId id, Members current, String containerId, int knownPid,
            String knownToken, boolean leaving) {
        liveness.prune(id, current.quarantined, containerId, knownPid, knownToken);
        boolean others = current.quarantined.keySet().stream().anyMatch(k -> !k.equals(containerId));
        if (leaving || others) {
            current.quarantined.remove(containerId);
        }
        if (!others) {
            return;
        }
        Map.Entry<String, Owner> holder = current.quarantined.entrySet().iterator().next(); // containerId was removed
        throw new EnforcementException(ErrorCode.NAMESPACE_QUARANTINED, "container " + holder.getKey()
                + " shares this network namespace (inode " + id.inode() + ") and is quarantined ("
                + holder.getValue().digest() + "); its quarantine holds for the whole namespace until its policy"
                + " is applied or it has gone, so container " + containerId + " is quarantined with it");
    }

    /**
     * Records {@code containerId}, found through {@code pid}, as a member of namespace {@code id}
     * quarantined for its own failure {@code code}, before its quarantine is written; true when it
     * was no member before (then {@link #notQuarantined} undoes it when that first quarantine
     * cannot be written; a member whose quarantine was in force stays one however a later
     * re-write fails). Nothing is recorded for a pid that is gone, nor for a null containerId.
     */
    boolean quarantined(NamespaceId id, String containerId, ErrorCode code, int pid) {
        return containerId != null && record(id, containerId, null, code.code(), pid, true);
    }

    /** {@code containerId} is no quarantined member of {@code id} (its quarantine could not be written). */
    void notQuarantined(NamespaceId id, String containerId) {
        Members current = owners.get(id);
        if (current != null && containerId != null) {
            synchronized (current) {
                current.quarantined.remove(containerId);
            }
        }
    }

    /** {@code containerId} left namespace {@code id} for good (its container stopped or was released): it is neither owner nor member. */
    void left(NamespaceId id, String containerId) {
        Members current = owners.get(id);
        if (current != null && containerId != null) {
            synchronized (current) {
                current.quarantined.remove(containerId);
                current.owners.remove(containerId);
            }
        }
        reads.left(id, containerId);
    }

    /**
     * What the capability read of {@code containerId} (an owner, or a member the OCI hook saw join)
     * through {@code pid} found in namespace {@code id}, kept for the other members
     * ({@link MemberReads}).
     */
    void memberRead(NamespaceId id, String containerId, int pid, MemberReads.Found found) {
        reads.record(id, containerId, pid, found);
    }

    /** What the members of namespace {@code id} other than {@code containerId} still there found at their last reads ({@link MemberReads#beside}). */
    MemberReads.Beside beside(NamespaceId id, String containerId) {
        return reads.beside(id, containerId);
    }

    /** Whether a live member other than {@code containerId} is quarantined in namespace {@code id}. */
    boolean quarantinedBesides(NamespaceId id, String containerId) {
        Members current = owners.get(id);
        if (current == null) {
            return false;
        }
        synchronized (current) {
            liveness.prune(id, current.quarantined, containerId, NO_PID, null);
            return current.quarantined.keySet().stream().anyMatch(k -> !k.equals(containerId));
        }
    }

    /**
     * Whether a live owner other than {@code containerId} holds namespace {@code id} and no member
     * is quarantined there. An owner kept only because the scan for its container's processes ran
     * out ({@link MemberLiveness}) counts for nothing here: its own process has left {@code id},
     * whose inode may have been reused by a new namespace with none of netfence's rules in it, and
     * what asks (the OCI hook's fence, a resync re-asserting it, a quarantine's host side) would
     * leave the namespace open on its word; it still keeps its claim ({@link #claim} refuses
     * another policy, writing nothing).
     */
    boolean enforcedForAnother(NamespaceId id, String containerId) {
        Members current = owners.get(id);
        if (current == null) {
            return false;
        }
        synchronized (current) {
            liveness.prune(id, current.quarantined, null, NO_PID, null);
            if (!current.quarantined.isEmpty()) {
                return false;
            }
            java.util.Set<String> unconfirmed = new java.util.HashSet<>(0);
            liveness.prune(id, current.owners, null, NO_PID, null, unconfirmed);
            unconfirmed.remove(containerId);
            boolean confirmed = current.owners.keySet().stream()
                    .anyMatch(owner -> !owner.equals(containerId) && !unconfirmed.contains(owner));
            if (!confirmed && !unconfirmed.isEmpty()) {
                LOG.debug("namespace inode {}: owner(s) {} could not be confirmed (the scan for their processes ran"
                        + " out); not counted as governing it", id.inode(), unconfirmed);
            }
            return confirmed;
        }
    }

    /**
     * Re-records an owner known from before a restart: {@code containerId} of task {@code taskId}
     * (null: unknown) with {@code digest},
     * found through {@code pid} in namespace {@code id}; ignored when that pid is gone or no longer
     * in {@code id} (the owner would be pruned at once). Never refuses: what was in force before
     * the restart is what the owners were.
     */
    void restore(NamespaceId id, String containerId, String taskId, String digest, int pid) {
        Objects.requireNonNull(digest, "digest");
        record(id, containerId, taskId, digest, pid, false);
    }

    /** Re-records a member quarantined for its own failure {@code code} before a restart (as {@link #restore}). */
    void restoreQuarantined(NamespaceId id, String containerId, String code, int pid) {
        Objects.requireNonNull(code, "code");
        record(id, containerId, null, code, pid, true);
    }

    /** True when {@code containerId} was recorded and was not recorded there before. */
    private boolean record(NamespaceId id, String containerId, String task, String value, int pid,
            boolean quarantine) {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(containerId, "containerId");
        String token;
        try {
            token = tokens.of(pid);
        } catch (IOException e) {
            LOG.warn("cannot name process {} to record container {} in its namespace: {}", pid, containerId,
                    e.getMessage());
            token = null; // not recorded: as if the process were gone
        }
        Owner owner = new Owner(value, task, pid, token == null ? "" : token);
        // a quarantined member counts wherever its process is (the pin, or the live set, named the namespace)
        if (token == null || !liveness.alive(containerId, owner, id, quarantine, pid, token)) {
            return false;
        }
        while (true) {
            Members current = owners.computeIfAbsent(id, k -> new Members());
            synchronized (current) {
                if (owners.get(id) == current) {
                    return (quarantine ? current.quarantined : current.owners).put(containerId, owner) == null;
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
                    liveness.prune(e.getKey(), current.quarantined, null, MemberLiveness.SWEEP, null);
                    liveness.prune(e.getKey(), current.owners, null, MemberLiveness.SWEEP, null);
                    if (current.isEmpty()) {
                        owners.remove(e.getKey(), current);
                    }
                }
            }
        } finally {
            sweeping.set(false);
        }
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
