package dev.netfence.enforce;

import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.PinnedNamespace;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A bounded set of namespaces, each remembered with the pid it was pinned through, for facts that
 * hold of a namespace until something changes it: the pipeline's guess that netfence's hooks are
 * in place (a guess that saves a process, never a fact anything relies on: every apply is read
 * back and verified, see {@link ApplyPipeline}; on the nft backends an entry means only that the
 * namespace was written in this process and looked at for leftovers), and the namespaces where
 * {@link LeftoverChains} could not make sure an earlier backend's chains are gone. Entries are
 * keyed by namespace identity (device and inode). The kernel hands a freed namespace's inode
 * number to new namespaces, so an entry only counts while that pid is still a process in a
 * namespace with that identity (a live process proves its namespace is the remembered one), or
 * when the question comes through the same pid: a fresh container that inherited an inode starts
 * unknown. Least recently used entries go first; thread-safe.
 */
final class WitnessedNamespaces {
    private static final int MAX_ENTRIES = 4096;

    private final Path procRoot;
    private final Map<NamespaceId, Integer> witnesses = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<NamespaceId, Integer> eldest) {
            return size() > MAX_ENTRIES;
        }
    };

    /** @param procRoot normally {@code /proc}; where a remembered pid's namespace is looked up */
    WitnessedNamespaces(Path procRoot) {
        this.procRoot = Objects.requireNonNull(procRoot, "procRoot");
    }

    /** Whether {@code ns} is remembered. */
    boolean present(PinnedNamespace ns) {
        return present(ns.id(), ns.pid());
    }

    /** Whether namespace {@code id}, asked about through process {@code pid}, is remembered. */
    boolean present(NamespaceId id, int pid) {
        Integer witness;
        synchronized (witnesses) {
            witness = witnesses.get(id);
        }
        if (witness == null) {
            return false;
        }
        return witness == pid || stillIn(witness, id);
    }

    /** Remembers {@code ns}, through its pid. */
    void remember(PinnedNamespace ns) {
        synchronized (witnesses) {
            witnesses.put(ns.id(), ns.pid());
        }
    }

    /** Forgets {@code ns}. */
    void forget(PinnedNamespace ns) {
        synchronized (witnesses) {
            witnesses.remove(ns.id());
        }
    }

    private boolean stillIn(int pid, NamespaceId namespace) {
        try {
            return dev.netfence.netns.ProcTasks.namespaceOf(procRoot, pid).equals(namespace);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
