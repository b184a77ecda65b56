package dev.netfence.reconcile;

import dev.netfence.core.ErrorCode;
import dev.netfence.enforce.Enforcer;
import dev.netfence.netns.NamespaceId;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Hands the enforcer what it knew of shared namespaces before a restart, from the live set read
 * back from the journal, so that the first apply after a restart into a namespace shared with an
 * enforced or quarantined container is judged as before the restart: the namespace owners (each
 * entry with a policy decided for it, but those quarantined only because another member was) and
 * the members quarantined for their own failure (each quarantined entry with a task, but those
 * followers, and only while its recorded pid is still its container's: a pid journaled before a
 * reboot may name any process by now); an entry refused NAMESPACE_SHARED under the OCI hook's fence
 * (no owner there could be confirmed) is neither, as its fence made it neither. An entry refused NAMESPACE_SHARED records the digest it
 * was refused, not the rules in force, so it owns with its namespace's applied owners' digest
 * (the one verified last where they differ; its own where there is none): restored with the refused one, it refused, after a restart, the
 * very member whose rules were in force. And it has the enforcer read what each member of a
 * namespace shared with another entry holds ({@code Enforcer#joined}), where its process is still
 * there (at a take-over, the members of the adopted entries' namespaces that this instance kept too): the reads made before the restart are not kept, and without them the first resync would
 * report a member host-guarded beside one that can get past the host guard, until that one's own
 * read came.
 */
final class OwnerRestore {
    private OwnerRestore() {}

    static void restore(Collection<LiveContainer> all, Enforcer enforcer, Predicate<LiveContainer> stillThere) {
        restore(all, all, enforcer, stillThere);
    }

    /** As {@link #restore(Collection, Enforcer, Predicate)} for the entries {@code these} only, judged among {@code all}. */
    static void restore(Collection<LiveContainer> these, Collection<LiveContainer> all, Enforcer enforcer,
            Predicate<LiveContainer> stillThere) {
        // the applied owner verified last, where applied owners disagree (members of one task in
        // the middle of an update): its write is the later one, so its rules are the ones in force
        Map<NamespaceId, LiveContainer> inForce = new HashMap<>();
        all.stream().filter(c -> c.policyDigest() != null && c.errorCode() == null)
                .forEach(c -> inForce.merge(c.netns(), c, (a, b) -> b.lastVerified().isAfter(a.lastVerified()) ? b : a));
        for (LiveContainer c : these) {
            // refused NAMESPACE_SHARED and fenced (no owner there could be confirmed): the hook's fence, neither
            // owner nor quarantined member, as before the restart (a member would lock out the owner's policy)
            boolean fenced = c.quarantined() && ErrorCode.NAMESPACE_SHARED.code().equals(c.errorCode());
            boolean follower = fenced || ErrorCode.NAMESPACE_QUARANTINED.code().equals(c.errorCode());
            if (c.policyDigest() != null && !follower) {
                enforcer.restoreNamespaceOwner(c.containerId(), c.taskId(), c.pid(), c.netns(),
                        ErrorCode.NAMESPACE_SHARED.code().equals(c.errorCode())
                                ? (inForce.containsKey(c.netns()) ? inForce.get(c.netns()).policyDigest() : c.policyDigest())
                                : c.policyDigest());
            }
            if (c.quarantined() && c.taskId() != null && c.errorCode() != null && !follower && stillThere.test(c)) {
                enforcer.restoreQuarantined(c.containerId(), c.pid(), c.netns(), c.errorCode());
            }
        }
        // every member of a namespace one of these shares (at a take-over, those kept as they were too)
        Map<NamespaceId, java.util.List<LiveContainer>> members = new HashMap<>();
        all.forEach(c -> members.computeIfAbsent(c.netns(), ns -> new java.util.ArrayList<>()).add(c));
        java.util.Set<String> read = new java.util.HashSet<>();
        for (LiveContainer c : these) {
            java.util.List<LiveContainer> in = new java.util.ArrayList<>(members.getOrDefault(c.netns(), List.of()));
            in.add(c);
            if (in.stream().map(LiveContainer::containerId).distinct().count() < 2) {
                continue;
            }
            for (LiveContainer m : in) {
                if (read.add(m.containerId() + "/" + m.pid() + "/" + m.netns()) && stillThere.test(m)) {
                    enforcer.joined(m.containerId(), m.pid(), m.netns());
                }
            }
        }
    }
}
