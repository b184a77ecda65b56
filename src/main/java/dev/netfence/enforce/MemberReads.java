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

    /**
     * What the members beside a container found at their last reads: {@code reachingHost}, one
     * holding CAP_NET_ADMIN over the host's namespace (null: none); {@code risks}, each risk with
     * one member holding it.
     */
    record Beside(String reachingHost, Map<String, String> risks) {
        static final Beside NONE = new Beside(null, Map.of());

        Beside {
            // by risk: the outcome's warnings come in this order, the same after a restart (Map.copyOf's is not)
            risks = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(risks));
        }

        /** {@code own} risks with those held beside, sorted, each once. */
        List<String> plus(List<String> own) {
            if (risks.isEmpty()) {
                return own;
            }
            java.util.SortedSet<String> all = new java.util.TreeSet<>(own);
            all.addAll(risks.keySet());
            return List.copyOf(all);
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

    /**
     * What the other members of {@code id} still there found at their last reads, in one look: the
     * first of them (by id) whose read found CAP_NET_ADMIN over the host's namespace (null: none),
     * and each risk with the first of them that held it, in the risks' order. One look, so that an
     * outcome's guards and risks say the same of the members beside it.
     */
    Beside beside(NamespaceId id, String containerId) {
        Members current = byNamespace.get(id);
        if (current == null) {
            return Beside.NONE;
        }
        synchronized (current) {
            if (current.found.keySet().stream().allMatch(k -> k.equals(containerId))) {
                return Beside.NONE; // the common case: nobody else, and no /proc read for liveness
            }
            current.prune(liveness, id, containerId, NO_PID);
            String reaching = null;
            Map<String, String> risks = new TreeMap<>();
            for (String member : new java.util.TreeSet<>(current.found.keySet())) {
                if (!member.equals(containerId)) {
                    Found f = current.found.get(member);
                    reaching = reaching == null && f.reachesHost() ? member : reaching;
                    f.risks().forEach(r -> risks.putIfAbsent(r, member));
                }
            }
            return new Beside(reaching, risks);
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
