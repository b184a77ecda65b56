package dev.netfence.hostguard;

import dev.netfence.hostguard.HostSides.Binding;
import dev.netfence.rules.PlannedRules;
import java.io.IOException;
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
 * chain is written again without it in the same transaction ({@link #claimedBy}, {@link #withClaimers}),
 * and its owner is told ({@link #tell}): {@code netfence run}'s reconciler then checks it, which
 * settles an apply of the claimer's own that was under way meanwhile. Remembers the binding and
 * plan each open chain was last given for this (a chain adopted at start has no known plan: it is
 * only told). Not thread-safe: {@link HostGuards} calls {@link #wrote}, {@link #forget},
 * {@link #forgetGone} and {@link #claimedBy} under its lock.
 */
final class ClaimedAddresses {
    private static final Logger LOG = LoggerFactory.getLogger(ClaimedAddresses.class);

    /** What a chain was last given: its binding as narrowed and its plan (null: adopted, not known). */
    record Written(GuardChain chain, Binding bound, PlannedRules plan) {}

    /** A claimer's chain written again: its body and the listing it should print. */
    record Rewrite(GuardChain chain, List<String> body, String expected) {}

    private final GuardRenderer renderer;
    private final RenderedGuards rendered;
    private final HostSides sides;
    private final Map<String, Written> written = new HashMap<>();
    private volatile Consumer<String> listener = owner -> { };

    ClaimedAddresses(GuardRenderer renderer, RenderedGuards rendered, HostSides sides) {
        this.renderer = Objects.requireNonNull(renderer, "renderer");
        this.rendered = Objects.requireNonNull(rendered, "rendered");
        this.sides = Objects.requireNonNull(sides, "sides");
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
    Rewrite rewrite(Written w, List<String> later) {
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
     * {@code chains} and the chains of {@code claimers} whose plan is known and whose interface is
     * still the one they were written for, each claimer's body and listing added to {@code bodies}
     * and {@code expected}: written in the newcomer's transaction.
     */
    List<GuardChain> withClaimers(List<GuardChain> chains, List<Written> claimers,
            List<List<String>> later, Map<String, List<String>> bodies, Map<String, String> expected) {
        List<GuardChain> all = new ArrayList<>(chains);
        for (int k = 0; k < claimers.size(); k++) {
            GuardChain chain = claimers.get(k).chain();
            try {
                if (claimers.get(k).plan() == null || bodies.containsKey(chain.device())
                        || !sides.current(chain.device(), chain.ifindex())) {
                    continue; // adopted, or this apply's own, or gone: told all the same
                }
            } catch (IOException e) {
                continue;
            }
            Rewrite r = rewrite(claimers.get(k), later.get(k));
            all.add(chain);
            bodies.put(chain.device(), r.body());
            expected.put(chain.device(), r.expected());
        }
        return all;
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
