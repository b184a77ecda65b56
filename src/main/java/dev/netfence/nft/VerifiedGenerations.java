package dev.netfence.nft;

import dev.netfence.netns.NamespaceId;
import dev.netfence.rules.PlannedRules;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Per namespace, the nftables ruleset generation ({@link NftGeneration}) at which netfence last
 * read its table back and found it equal to a plan: the generation was read just before and just
 * after that read-back and was the same both times, so the read-back shows the ruleset of that
 * generation. While the namespace's generation is still that one, its ruleset has not changed
 * since (every committed nftables transaction in a namespace increments it, whoever sends it),
 * so a resync for the same plan needs no read-back: {@link #unchanged}. A full read-back is
 * still made when the plan differs, when the generation differs or cannot be read, and at least
 * every {@link #MAX_AGE_NANOS} (a backstop against anything the generation would not show, such
 * as its 32-bit counter wrapping all the way round). Entries are dropped before netfence writes
 * into the namespace ({@link #forget}) and when the container is released; at most
 * {@link #LIMIT} are kept (the map is emptied when it would grow past that, which only costs full
 * read-backs). Thread-safe; does no I/O and no logging, so it is used on namespace threads.
 */
final class VerifiedGenerations {
    static final int LIMIT = 65_536;
    /** Five minutes: at a 1 s resync interval, one full read-back in 300 per container. */
    static final long MAX_AGE_NANOS = 300_000_000_000L;

    private record Verified(long generation, PlannedRules plan, long atNanos) {}

    private final Map<NamespaceId, Verified> byNamespace = new ConcurrentHashMap<>();

    /**
     * Whether the ruleset of {@code ns}, now at {@code generation}, is the one verified equal to
     * {@code plan} (same generation, same plan, verified less than {@link #MAX_AGE_NANOS} ago).
     */
    boolean unchanged(NamespaceId ns, PlannedRules plan, long generation, long nowNanos) {
        if (generation == NftGeneration.UNKNOWN) {
            return false;
        }
        Verified v = byNamespace.get(ns);
        return v != null && v.generation() == generation && nowNanos - v.atNanos() < MAX_AGE_NANOS
                && (v.plan() == plan || v.plan().equals(plan));
    }

    /** Records that {@code ns}'s table was read back equal to {@code plan} at {@code generation} (UNKNOWN: forgets). */
    void verified(NamespaceId ns, PlannedRules plan, long generation, long nowNanos) {
        if (generation == NftGeneration.UNKNOWN) {
            byNamespace.remove(ns);
            return;
        }
        if (byNamespace.size() >= LIMIT && !byNamespace.containsKey(ns)) {
            byNamespace.clear();
        }
        byNamespace.put(ns, new Verified(generation, plan, nowNanos));
    }

    /** Drops what is known of {@code ns}: the next check reads its table back in full. */
    void forget(NamespaceId ns) {
        byNamespace.remove(ns);
    }

    int size() {
        return byNamespace.size();
    }
}
