package dev.netfence.hostguard;

import dev.netfence.hostguard.HostSides.Binding;
import dev.netfence.rules.PlannedRules;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The guard chains that lose an IPv6 address when another container's interface is first guarded
 * with it. A chain binds the addresses its container gains after its first apply unless another
 * chain held them at its own first ({@link FirstBindings#narrow}); so a workload holding
 * CAP_NET_ADMIN that gives itself the address of a neighbour whose guard is not written yet (the
 * next container's, say an address its runtime hands out in order) has it bound, and may even make
 * the neighbour lose it to duplicate address detection. When that neighbour's chain is first
 * written, with the address among its own or among those it lost to detection, each such claimer's
 * chain is written again without it right after, under the same lock ({@link #claimedBy},
 * {@link #rewrite}), and its owner is told ({@link #tell}): {@code netfence run}'s reconciler then checks it, which
 * settles an apply of the claimer's own that was under way meanwhile. Remembers the binding and
 * plan each open chain was last given for this (a chain adopted at start has no known plan: it is
 * only told). Not thread-safe: {@link HostGuards} calls all but {@link #tell} under its lock
 * (the lock of {@link GuardWrites}; {@link #rewrite} takes it).
 */
final class ClaimedAddresses {
    private static final Logger LOG = LoggerFactory.getLogger(ClaimedAddresses.class);

    /** What a chain was last given: its binding as narrowed and its plan (null: adopted, not known). */
    record Written(GuardChain chain, Binding bound, PlannedRules plan) {}

    /** A claimer's chain written again: its body and the listing it should print. */
    record Rewrite(GuardChain chain, List<String> body, String expected) {}

    private final GuardRenderer renderer;
    private final RenderedGuards rendered;
    private final Map<String, Written> written = new HashMap<>();
    private volatile Consumer<String> listener = owner -> { };

    ClaimedAddresses(GuardRenderer renderer, RenderedGuards rendered) {
        this.renderer = Objects.requireNonNull(renderer, "renderer");
        this.rendered = Objects.requireNonNull(rendered, "rendered");
    }

    /** Whom to tell the owner of a claimer's chain (see {@link HostGuards#onClaimedBefore}). */
    void listener(Consumer<String> owners) {
        this.listener = Objects.requireNonNull(owners, "owners");
    }

    /** {@code chain} is given {@code bound} (null: no binding) with {@code plan}. */
    void wrote(GuardChain chain, Binding bound, PlannedRules plan) {
        if (bound == null) {
            written.remove(chain.device());
        } else {
            written.put(chain.device(), new Written(chain, bound, plan));
        }
    }

    /** Chains closed or removed: they bind no address gained later any more. */
    void forget(Collection<String> devices) {
        written.keySet().removeAll(devices);
    }

    /** Every chain whose interface is gone (no link of its name in {@code links}, or one with another index). */
    void forgetGone(Map<String, Integer> links) {
        written.values().removeIf(w -> !Integer.valueOf(w.chain().ifindex()).equals(links.get(w.chain().device())));
    }

    /**
     * The chains of other owners than {@code owner} that were last given, among the IPv6 addresses
     * gained after their own first apply, one that {@code newcomer} was just first read with
     * ({@code read}: its addresses and those it lost to duplicate address detection), each with its
     * binding without them, which is remembered as theirs from now on.
     */
    List<Written> claimedBy(GuardChain newcomer, String owner, Binding read, FirstBindings first) {
        if (read == null) {
            return List.of();
        }
        Set<String> claimed = new LinkedHashSet<>(read.ipv6());
        claimed.addAll(read.failedIpv6());
        if (claimed.isEmpty()) {
            return List.of();
        }
        List<Written> out = new ArrayList<>();
        for (Written w : List.copyOf(written.values())) {
            Binding known = first.first(w.chain());
            if (w.chain().device().equals(newcomer.device()) || w.chain().owner().equals(owner) || known == null) {
                continue;
            }
            List<String> kept = w.bound().ipv6().stream().filter(a -> known.ipv6().contains(a) || !claimed.contains(a))
                    .toList();
            if (kept.size() != w.bound().ipv6().size()) {
                Written narrowed = new Written(w.chain(), new Binding(w.bound().mac(), w.bound().ipv4(), kept), w.plan());
                written.put(w.chain().device(), narrowed);
                out.add(narrowed);
            }
        }
        return out;
    }

    /** The body of claimer {@code w} (its plan known) with {@code later} its IPv6 addresses gained later. */
    private Rewrite rewrite(Written w, List<String> later) {
        RenderedGuards.Rendered r = rendered.of(w.plan());
        List<String> binding = renderer.binding(w.bound(), later, w.plan());
        List<String> body = new ArrayList<>(binding.size() + r.body().size());
        body.addAll(binding);
        body.addAll(r.body());
        List<String> canonical = new ArrayList<>(body.size());
        binding.forEach(line -> canonical.add(GuardRenderer.canonical(line)));
        canonical.addAll(r.canonicalBody());
        return new Rewrite(w.chain(), body, renderer.listingOfCanonical(w.chain(), canonical));
    }

    /**
     * Writes each claimer's chain again without the addresses taken from it (the last of several
     * claims on one chain), in a transaction of its own under {@code writes}' lock, so that
     * nothing written to the chain since {@link #claimedBy} is undone: only while the chain is
     * still installed as it was and nothing gave it another binding since (an apply of its own,
     * which a stale binding of that apply's is then left to the reconciler's check for), and only
     * where its plan is known (not an adopted chain). Best effort: a chain whose interface is gone
     * or a refused write is logged, and never fails the newcomer's apply.
     */
    void rewrite(List<Written> claimers, List<List<String>> later, GuardWrites writes) {
        Map<String, Integer> last = new HashMap<>();
        for (int k = 0; k < claimers.size(); k++) {
            last.put(claimers.get(k).chain().device(), k);
        }
        synchronized (writes) {
            for (int k : last.values()) {
                Written w = claimers.get(k);
                String device = w.chain().device();
                if (w.plan() == null || !w.chain().equals(writes.installed().get(device)) || written.get(device) != w) {
                    continue;
                }
                Rewrite r = rewrite(w, later.get(k));
                try {
                    writes.submit(List.of(w.chain()), Map.of(device, r.body()), Map.of(device, r.expected()));
                } catch (RuntimeException e) {
                    LOG.warn("writing the guard of container {} on {} again without the addresses another container"
                            + " was first guarded with failed: {}", w.chain().owner(), device, e.toString());
                }
            }
        }
    }

    /** Tells the listener each claimer's owner, once; what it throws is logged. */
    void tell(Collection<Written> claimers) {
        for (String owner : claimers.stream().map(w -> w.chain().owner()).distinct().sorted().toList()) {
            LOG.warn("container {} held, as an IPv6 address gained after its first apply, an address another container's"
                    + " interface was just first guarded with: its guard no longer binds it", owner);
            try {
                listener.accept(owner);
            } catch (RuntimeException e) {
                LOG.warn("asking for a check of container {} failed: {}", owner, e.toString());
            }
        }
    }
}
