package dev.netfence.enforce;

import dev.netfence.enforce.NamespaceOwners.Owner;
import dev.netfence.netns.ContainerProcesses;
import dev.netfence.netns.NamespaceId;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeoutException;

/**
 * Whether a member {@link NamespaceOwners} recorded still counts, read from {@code /proc}, and the
 * dropping of those that no longer do: an owner counts while its process (the same pid with the
 * same token, {@link ProcessTokens}) lives in the namespace it owns, a quarantined member while
 * that process lives anywhere, and either while a process of its container is still in that
 * namespace ({@link ContainerProcesses}; for a quarantined member, anywhere), so that a pid 1 that
 * moved away, or a quarantine's witness that exited, frees nothing while its container is still
 * there. Split out of {@link NamespaceOwners} so that its bookkeeping of claims and quarantines
 * reads apart from these {@code /proc} reads, which it makes under each namespace's own lock. A
 * member kept only because the scan for its container's processes ran out of its budget
 * ({@link ContainerProcesses#BUDGET}, measured on the injected clock) is kept, but can be told
 * apart ({@link #prune(NamespaceId, Map, String, int, String, Set)}): its namespace's inode may
 * have been reused by a new namespace since its process left, so nothing vouches that it is there.
 */
final class MemberLiveness {
    /**
     * A namespace's quarantined members ({@link NamespaceOwners}). One counts while its process
     * lives, wherever it is: a member whose process moved itself into another namespace
     * ({@code unshare -n}) keeps its quarantine (the reconciler keeps it in place too) until it
     * dies or its container is stopped; a namespace whose inode is reused meanwhile stays
     * quarantined, failing closed.
     */
    static final class QuarantinedMembers extends java.util.LinkedHashMap<String, Owner> {
        private static final long serialVersionUID = 1L;

        QuarantinedMembers() {
            super(2);
        }
    }

    /** The known pid a sweep passes: a gone process is not looked for again there. */
    static final int SWEEP = -2;

    /** Whether a member counts: its process (or one of its container's) vouches for it, or only a scan that ran out. */
    private enum State { ALIVE, GONE, UNCONFIRMED }

    private final Path procRoot;
    private final ProcessTokens tokens;
    private final Clock clock;

    MemberLiveness(Path procRoot, ProcessTokens tokens, Clock clock) {
        this.procRoot = procRoot;
        this.tokens = tokens;
        this.clock = clock;
    }

    /**
     * Drops owners that no longer live in {@code id}, except {@code keep} (null: none), whose entry
     * the caller is about to replace; true when none is left. {@code knownToken} is
     * {@code knownPid}'s token as just read (null: gone), so it is not read again.
     */
    boolean prune(NamespaceId id, Map<String, Owner> current, String keep, int knownPid, String knownToken) {
        return prune(id, current, keep, knownPid, knownToken, null);
    }

    /**
     * As {@link #prune(NamespaceId, Map, String, int, String)}; each member kept only because the
     * scan for its container's processes ran out is added to {@code unconfirmed} (null: not told).
     */
    boolean prune(NamespaceId id, Map<String, Owner> current, String keep, int knownPid, String knownToken,
            Set<String> unconfirmed) {
        boolean anywhere = isQuarantinedMap(current);
        for (Iterator<Map.Entry<String, Owner>> it = current.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, Owner> entry = it.next();
            if (entry.getKey().equals(keep)) {
                continue;
            }
            State state = state(entry.getKey(), entry.getValue(), id, anywhere, knownPid, knownToken);
            if (state == State.GONE) {
                it.remove();
            } else if (state == State.UNCONFIRMED && unconfirmed != null) {
                unconfirmed.add(entry.getKey());
            }
        }
        return current.isEmpty();
    }

    /** Whether {@code map} is a namespace's quarantined members (whose liveness ignores where the process is). */
    private static boolean isQuarantinedMap(Map<String, Owner> map) {
        return map instanceof QuarantinedMembers;
    }

    /**
     * Whether {@code owner}'s process (same pid, same token) still lives in {@code home} (with
     * {@code anywhere}: lives at all); when the token cannot be read though the pid exists, that
     * decides nothing. Else a process of its container still in {@code home} keeps it ({@link
     * ContainerProcesses}): a pid 1 moved away, or a quarantine's witness gone, frees nothing; with
     * {@code anywhere} (a quarantined member), a process of its container anywhere does too (a
     * workload that moved every process out of the namespace and let the witness go keeps its
     * quarantine: its connections may still be there, and a pod member's policy is refused).
     */
    boolean alive(String containerId, Owner owner, NamespaceId home, boolean anywhere, int knownPid,
            String knownToken) {
        return state(containerId, owner, home, anywhere, knownPid, knownToken) != State.GONE;
    }

    /** See {@link #alive}: UNCONFIRMED where only a scan that ran out keeps the member. */
    private State state(String containerId, Owner owner, NamespaceId home, boolean anywhere, int knownPid,
            String knownToken) {
        String now;
        try {
            now = owner.pid() == knownPid ? knownToken : tokens.of(owner.pid());
        } catch (IOException e) {
            now = owner.token();
        }
        if (owner.token().equals(now)) {
            try {
                if (anywhere || dev.netfence.netns.ProcTasks.namespaceOf(procRoot, owner.pid()).equals(home)) {
                    return State.ALIVE;
                }
            } catch (IOException e) {
                // gone meanwhile: as below
            }
        } else if (knownPid == SWEEP) {
            return State.GONE; // a sweep (thousands of entries): a gone process is not looked for again with a scan each
        }
        try {
            if (ContainerProcesses.in(procRoot, containerId, home, clock).isPresent()) {
                return State.ALIVE;
            }
        } catch (TimeoutException e) {
            return State.UNCONFIRMED; // kept (a pod member's policy is refused rather than written over its own)
        }
        return anywhere && ContainerProcesses.runsOrUnknown(procRoot, containerId, clock) ? State.ALIVE : State.GONE;
    }
}
