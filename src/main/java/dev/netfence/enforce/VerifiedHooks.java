package dev.netfence.enforce;

import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.PinnedNamespace;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Remembers the namespaces in which netfence's last apply was verified, with both families'
 * hooks present once and first, so the next apply there can leave the hooks alone instead of
 * reading the table first. It is a guess that saves a process, never a fact anything relies on:
 * every apply is read back and verified, and a wrong guess is repaired (see
 * {@link ApplyPipeline}). Entries are keyed by namespace identity (device and inode) and name
 * the pid the namespace was pinned through. The kernel hands a freed namespace's inode number to
 * new namespaces, so an entry only counts while that pid is still a process in a namespace with
 * that identity (a live process proves its namespace is the remembered one), or when the new
 * apply comes through the same pid: a fresh container that inherited an inode starts unknown.
 * On the nft backends (one process writes with one backend) an entry means only that the
 * namespace was written in this process and looked at for iptables-legacy leftovers
 * ({@link LeftoverChains}). Bounded (least recently used entries go first); thread-safe.
 */
final class VerifiedHooks {
    private static final int MAX_ENTRIES = 4096;

    private final Path procRoot;
    private final Map<NamespaceId, Integer> witnesses = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<NamespaceId, Integer> eldest) {
            return size() > MAX_ENTRIES;
        }
    };

    /** @param procRoot normally {@code /proc}; where a remembered pid's namespace is looked up */
    VerifiedHooks(Path procRoot) {
        this.procRoot = Objects.requireNonNull(procRoot, "procRoot");
    }

    /** Whether the last apply verified in {@code ns} left both families' hooks in place. */
    boolean present(PinnedNamespace ns) {
        Integer witness;
        synchronized (witnesses) {
            witness = witnesses.get(ns.id());
        }
        if (witness == null) {
            return false;
        }
        return witness == ns.pid() || stillIn(witness, ns.id());
    }

    /** Records that an apply in {@code ns} was just verified, hooks included. */
    void remember(PinnedNamespace ns) {
        synchronized (witnesses) {
            witnesses.put(ns.id(), ns.pid());
        }
    }

    /** Drops what is known about {@code ns}: an apply there failed, so its state is unknown. */
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
