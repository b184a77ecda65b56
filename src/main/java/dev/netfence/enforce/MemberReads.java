package dev.netfence.enforce;

import dev.netfence.enforce.NamespaceOwners.Owner;
import dev.netfence.netns.NamespaceId;
import java.io.IOException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What the last capability read of each member of a namespace found, where it found something:
 * its risks ({@code CAP_NET_ADMIN}, {@code CAP_NET_RAW}) and whether it holds CAP_NET_ADMIN in
 * the host's user namespace. A pod's members share one namespace and so one set of rules: what
 * one member can do to them (flush them, send frames past them, make host interfaces past the
 * shared veth's chain) every member's outcome must say, and {@code --refuse-capabilities} must
 * refuse, whether that member came with an event of its own or the OCI hook let it join. Each
 * entry counts while its process (pid and token) lives in that namespace, or a process of its
 * container does ({@link MemberLiveness}); a member whose read finds nothing has no entry, so the
 * common case (no co-member with a risk) costs one map look-up and no {@code /proc} read. Swept
 * whole past {@link NamespaceOwners#SWEEP_AT} namespaces. Thread-safe: a namespace's entries are
 * read and changed under that namespace's own monitor.
 */
final class MemberReads {
    /** What one read of a member found. */
    record Found(List<String> risks, boolean reachesHost) {
        Found {
            risks = List.copyOf(risks);
        }

        boolean nothing() {
            return risks.isEmpty() && !reachesHost;
        }
    }

    /** One namespace's members with a finding: the process each was read through, and what was found. */
    private static final class Members {
        final Map<String, Owner> processes = new LinkedHashMap<>(2);
        final Map<String, Found> found = new HashMap<>(2);

        void prune(MemberLiveness liveness, NamespaceId id, String keep, int knownPid) {
            liveness.prune(id, processes, keep, knownPid, null);
            found.keySet().retainAll(processes.keySet());
        }
    }

    /** No pid known beforehand: every member's token is read. */
    private static final int NO_PID = -1;

    private final ProcessTokens tokens;
    private final MemberLiveness liveness;
    private final Map<NamespaceId, Members> byNamespace = new ConcurrentHashMap<>();
    private final AtomicBoolean sweeping = new AtomicBoolean();

    MemberReads(ProcessTokens tokens, MemberLiveness liveness) {
        this.tokens = tokens;
        this.liveness = liveness;
    }

    /** What the read of {@code containerId} through {@code pid} found in namespace {@code id}; a read that found nothing forgets it. */
    void record(NamespaceId id, String containerId, int pid, Found found) {
        if (containerId == null) {
            return;
        }
        if (found.nothing()) {
            left(id, containerId);
            return;
        }
        String token;
        try {
            token = tokens.of(pid);
        } catch (IOException unnamed) {
            return; // there, but its pidfs token cannot be read now: what was known of it stands until a read that can
        }
        if (token == null) {
            left(id, containerId);
            return; // its process is gone: nothing to follow it by, and it can do nothing there
        }
        if (byNamespace.size() > NamespaceOwners.SWEEP_AT) {
            sweep();
        }
        while (true) {
            Members current = byNamespace.computeIfAbsent(id, k -> new Members());
            synchronized (current) {
                if (byNamespace.get(id) == current) {
                    current.processes.put(containerId, new Owner("", null, pid, token));
                    current.found.put(containerId, found);
                    return;
                }
            }
        }
    }

    /** A member of {@code id} other than {@code containerId} whose last read found CAP_NET_ADMIN over the host's namespace, still there; null if none. */
    String reachingHost(NamespaceId id, String containerId) {
        Members current = byNamespace.get(id);
        if (current == null) {
            return null;
        }
        synchronized (current) {
            if (current.found.entrySet().stream().noneMatch(e -> !e.getKey().equals(containerId)
                    && e.getValue().reachesHost())) {
                return null; // the common case: no /proc read for liveness
            }
            current.prune(liveness, id, containerId, NO_PID);
            return current.found.entrySet().stream().filter(e -> !e.getKey().equals(containerId)
                    && e.getValue().reachesHost()).map(Map.Entry::getKey).sorted().findFirst().orElse(null);
        }
    }

    /**
     * The risks the other members of {@code id} still there held at their last read, each with
     * the first of them (by id) that held it, in the risks' order; empty if none.
     */
    Map<String, String> risksBeside(NamespaceId id, String containerId) {
        Members current = byNamespace.get(id);
        if (current == null) {
            return Map.of();
        }
        synchronized (current) {
            if (current.found.entrySet().stream().noneMatch(e -> !e.getKey().equals(containerId)
                    && !e.getValue().risks().isEmpty())) {
                return Map.of(); // the common case: no /proc read for liveness
            }
            current.prune(liveness, id, containerId, NO_PID);
            Map<String, String> beside = new TreeMap<>();
            current.found.entrySet().stream().filter(e -> !e.getKey().equals(containerId))
                    .sorted(Map.Entry.comparingByKey())
                    .forEach(e -> e.getValue().risks().forEach(r -> beside.putIfAbsent(r, e.getKey())));
            return beside;
        }
    }

    /** {@code containerId} left namespace {@code id} (or was read with nothing to find): forgotten there. */
    void left(NamespaceId id, String containerId) {
        Members current = byNamespace.get(id);
        if (current != null && containerId != null) {
            synchronized (current) {
                current.processes.remove(containerId);
                current.found.remove(containerId);
            }
        }
    }

    /** Drops members gone everywhere, and namespaces left without one; one sweep at a time. */
    void sweep() {
        if (!sweeping.compareAndSet(false, true)) {
            return;
        }
        try {
            for (Map.Entry<NamespaceId, Members> e : byNamespace.entrySet()) {
                Members current = e.getValue();
                synchronized (current) {
                    liveness.prune(e.getKey(), current.processes, null, MemberLiveness.SWEEP, null);
                    current.found.keySet().retainAll(current.processes.keySet());
                    if (current.processes.isEmpty()) {
                        byNamespace.remove(e.getKey(), current);
                    }
                }
            }
        } finally {
            sweeping.set(false);
        }
    }
}
