package dev.netfence.hostguard;

import dev.netfence.rules.PlannedRules;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The chains {@link HostGuards} closes: those of a container whose host interface is still there
 * but no longer leads into the container's namespace (a workload holding CAP_NET_ADMIN moved its
 * veth into a namespace of its own, where no in-namespace rule follows it). Each is found among
 * the chains installed for its owner whose interface is still on the host (one the kernel removed
 * is the sweep's), and given nothing but its first binding's lines, all drops, so that its policy
 * drops every frame and no policy outlives the container there; the binding stays, so a restarted
 * netfence still knows it. Apart from HostGuards because closing is a step of its own, taken
 * within an apply and by {@link HostGuards#close}, with its own look at the host and its own text;
 * HostGuards writes what it returns together with the rest of the transaction. Takes the lock of
 * {@link GuardWrites} for the bookkeeping it reads and changes ({@link FirstBindings},
 * {@link ClaimedAddresses}).
 */
final class ClosedChains {
    /** HostGuards' category, as before this class was split from it (operators' log settings name it). */
    private static final Logger LOG = LoggerFactory.getLogger(HostGuards.class);
    /** The plan whose comment a closed chain's binding lines carry (it holds no other rule). */
    private static final PlannedRules CLOSED = new dev.netfence.rules.RulePlanner().quarantine();

    private final GuardWrites writes;
    private final HostSides sides;
    private final FirstBindings firstBindings;
    private final ClaimedAddresses claims;
    private final GuardRenderer renderer;

    ClosedChains(GuardWrites writes, HostSides sides, FirstBindings firstBindings, ClaimedAddresses claims,
            GuardRenderer renderer) {
        this.writes = Objects.requireNonNull(writes, "writes");
        this.sides = Objects.requireNonNull(sides, "sides");
        this.firstBindings = Objects.requireNonNull(firstBindings, "firstBindings");
        this.claims = Objects.requireNonNull(claims, "claims");
        this.renderer = Objects.requireNonNull(renderer, "renderer");
    }

    /**
     * The chains installed for {@code owner} that are not among {@code found} and whose interface
     * is still there (one the kernel removed is left to {@link HostGuards#sweep}), each added to
     * {@code bodies} with nothing but its first binding's lines, all drops (its policy drops every
     * frame; the binding stays so that a restarted netfence still knows it), and its listing to
     * {@code expected}.
     */
    List<GuardChain> of(String owner, List<GuardChain> found, Map<String, List<String>> bodies,
            Map<String, String> expected) {
        List<GuardChain> others;
        synchronized (writes) {
            others = writes.installed().values().stream()
                    .filter(c -> c.owner().equals(owner) && found.stream().noneMatch(f -> f.device().equals(c.device())))
                    .sorted(java.util.Comparator.comparing(GuardChain::device)).toList();
        }
        List<GuardChain> closed = new ArrayList<>(others.size());
        for (GuardChain chain : others) {
            try {
                if (sides.current(chain.device(), chain.ifindex())) { // a veth that is gone is the sweep's
                    closed.add(chain);
                }
            } catch (IOException e) {
                throw GuardTableCalls.unavailable(e);
            }
        }
        for (GuardChain chain : closed) {
            HostSides.Binding first;
            synchronized (writes) {
                first = firstBindings.first(chain);
                claims.forget(List.of(chain.device()));
            }
            List<String> lines = renderer.binding(first, CLOSED);
            bodies.put(chain.device(), lines);
            expected.put(chain.device(), renderer.listingOfCanonical(chain, lines.stream().map(GuardRenderer::canonical)
                    .toList()));
        }
        if (!closed.isEmpty()) {
            LOG.warn("host interfaces {} of container {} no longer lead into its namespace: their guards now drop"
                    + " everything", closed.stream().map(GuardChain::device).toList(), owner);
        }
        return closed;
    }
}
