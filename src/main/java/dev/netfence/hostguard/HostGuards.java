package dev.netfence.hostguard;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.rules.PlannedRules;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host guards of one netfence instance: the chains of {@code table netdev netfence} in the
 * host namespace, one per guarded host interface. {@link #apply} finds a container's host side
 * ({@link HostSides}) and installs or replaces its chains with the plan's egress decision in one
 * nft transaction ({@link GuardRenderer}); a chain this instance wrote for the container whose
 * interface is still there but no longer leads into the container's namespace (a workload holding
 * CAP_NET_ADMIN moved its veth into a namespace of its own, where no in-namespace rule follows
 * it) is closed in the same transaction ({@link ClosedChains}): emptied, so its policy drops every frame;
 * {@link #release} removes a container's chains;
 * {@link #sweep} removes every chain whose interface is gone (a veth that disappears takes its
 * container's guard with it within one sweep; a kernel keeps a netdev chain after its device goes
 * and binds it to the next device of that name, so a chain whose recorded ifindex no longer
 * matches is removed too); {@link #adopt} runs at start and keeps a previous run's chains whose
 * interface still exists (they are replaced by name at the next apply, so a restart never
 * duplicates one) and removes the rest. Nothing outside netfence's table is ever written. Writes
 * take turns (one lock), each is one nft transaction, and applies that queue for the lock while
 * another writes are written together in the next one ({@link GuardWrites}, group commit); when the kernel's table differs from what
 * this instance believed (an admin deleted a chain), the state is re-read and the write retried
 * once. A re-apply reads before it writes: when this instance wrote the same chain (interface,
 * ifindex, owner) with the same rules before, the chain is listed from the kernel and compared
 * with the exact text nft prints for it ({@link GuardRenderer#listing}, set elements in sorted order); equal, nothing is written;
 * different (a rule changed, added or removed, the chain or its hook gone), the chain is
 * rewritten and the result names the difference ({@link Result#drift}), so a resync repairs and
 * counts host-side drift instead of rewriting every chain blind. The listing is skipped too while
 * the host's nftables ruleset generation ({@link HostTable#generation}, advanced by the kernel at
 * every committed transaction, whoever commits it) is still the one at which the chain was last
 * listed equal, written or left untouched by this instance's own transaction alone. A new guard or a changed plan is
 * written without reading first (it differs by construction). Failures: nft refusing the text is
 * RULES_REJECTED, nft or netlink unusable is FIREWALL_UNAVAILABLE, no host side under
 * {@code required} is HOST_GUARD_UNAVAILABLE. Under {@code off} nothing is written for a container,
 * and the start's {@link #adopt} and every {@link #sweep} remove every chain an earlier run left
 * ({@link EarlierRunChains}; why they could not be is {@link #notReadyReason}).
 */
public final class HostGuards {
    private static final Logger LOG = LoggerFactory.getLogger(HostGuards.class);
    public static final String NETNS = "netns";
    public static final String HOST = "host";

    /**
     * Which guards hold after an apply, the chains installed, why there is no host guard (or
     * null), and what differed in a chain this instance had written with the same rules before
     * and repaired now (or null: nothing differed, or nothing had been written yet).
     */
    public record Result(List<String> guards, List<GuardChain> chains, String reason, String drift) {
        public Result {
            guards = List.copyOf(guards);
            chains = List.copyOf(chains);
        }

        static Result netnsOnly(String reason) {
            return new Result(List.of(NETNS), List.of(), reason, null);
        }

        /** Whether the host guard holds. */
        public boolean host() {
            return guards.contains(HOST);
        }

        /**
         * This result with the host guard not claimed, for {@code reason}: its chains stay written
         * (they still hold what they can), but the container can get past them.
         */
        public Result notHolding(String reason) {
            return new Result(List.of(NETNS), chains, reason, drift);
        }
    }

    private final HostGuardMode mode;
    private final HostSides sides;
    private final GuardRenderer renderer = new GuardRenderer();
    private final RenderedGuards renderedGuards = new RenderedGuards(renderer);
    /** The chains' bookkeeping and every write of the host table; its monitor is the lock of all of them. */
    private final GuardWrites writes;
    /** What each chain's binding may hold, from its first apply (under the lock of {@link #writes}). */
    private final FirstBindings firstBindings = new FirstBindings();
    /** An {@link #adopt} that failed, which the next apply makes again (under the writes' lock). */
    private boolean adoptPending;
    /** Chains that lose an IPv6 address a newcomer is first guarded with (under the lock of {@link #writes}). */
    private final ClaimedAddresses claims;
    /** The chains of a container whose interfaces no longer lead into its namespace, made to drop everything. */
    private final ClosedChains closedChains;
    /** Under off: what an earlier run left in the table, removed at start and at every sweep. */
    private final EarlierRunChains leftovers;

    /** Guards whose sweeps under off ask {@code table} for the ruleset generation. */
    public HostGuards(HostGuardMode mode, HostSides sides, HostTable table) {
        this(mode, sides, table, table::generation);
    }

    HostGuards(HostGuardMode mode, HostSides sides, HostTable table, EarlierRunChains.Generation generation) {
        this.mode = Objects.requireNonNull(mode, "mode");
        this.sides = Objects.requireNonNull(sides, "sides");
        this.claims = new ClaimedAddresses(renderer, renderedGuards);
        this.writes = new GuardWrites(Objects.requireNonNull(table, "table"), this.sides::current);
        this.closedChains = new ClosedChains(writes, this.sides, firstBindings, claims, renderer);
        this.leftovers = new EarlierRunChains(writes, generation);
    }

    /**
     * The production wiring: host sides over rtnetlink, the table through libnftables in-process,
     * or through the {@code nft} program when the library cannot be loaded (under {@code off}, with
     * neither here, a table that lists empty: nothing netfence could have written), the ruleset
     * generation over netlink.
     */
    public static HostGuards create(HostGuardMode mode, dev.netfence.netns.CommandRunner runner) {
        HostTable table = LibNftablesTable.load().orElseGet(() -> {
            if (mode == HostGuardMode.OFF) {
                return NftProcessTable.onPath(System.getenv("PATH")) ? new NftProcessTable(runner, java.time.Duration.ofSeconds(20))
                        : HostTable.ABSENT;
            }
            LOG.info("libnftables not loadable; the host guard runs the nft program");
            return new NftProcessTable(runner, java.time.Duration.ofSeconds(20));
        });
        Rtnetlink netlink = new Rtnetlink();
        return new HostGuards(mode, new NetlinkHostSides(netlink), table, netlink::nftGeneration);
    }

    public HostGuardMode mode() {
        return mode;
    }

    /**
     * Whom to tell the owner of a chain that bound, as gained later, an IPv6 address another
     * container's interface has just been first guarded with (or lost to duplicate address
     * detection): a workload holding CAP_NET_ADMIN that gave itself the address before its owner's
     * guard was written. That chain is written again without it right after the newcomer's
     * ({@link ClaimedAddresses}); the listener (the reconciler, in {@code netfence run}) checks the
     * container at once, which settles an apply of its own that was under way. Called after the
     * newcomer's chains were written, on the applying thread; what it throws is logged.
     */
    public void onClaimedBefore(Consumer<String> owners) {
        claims.listener(owners);
    }

    /**
     * Guards the container whose namespace {@code nsFile} leads to with {@code plan}: an apply
     * calls it while its in-namespace rules are written (or after) and reports nothing before both
     * are done. With mode {@code off} it does nothing; with no host side
     * it returns {@code ["netns"]}, or under {@code required} throws HOST_GUARD_UNAVAILABLE.
     */
    public Result apply(String owner, Path nsFile, PlannedRules plan) {
        Result result = guard(owner, nsFile, plan);
        if (!result.host() && mode == HostGuardMode.REQUIRED) {
            throw new EnforcementException(ErrorCode.HOST_GUARD_UNAVAILABLE,
                    "--host-guard required, but " + result.reason());
        }
        return result;
    }

    /** As {@link #apply} but never refuses for a missing host side (for the quarantine). */
    public Result guard(String owner, Path nsFile, PlannedRules plan) {
        Objects.requireNonNull(owner, "owner");
        Objects.requireNonNull(plan, "plan");
        if (mode == HostGuardMode.OFF) {
            return Result.netnsOnly("the host guard is off");
        }
        HostSides.Found side;
        try {
            side = sides.of(nsFile);
        } catch (IOException e) {
            throw new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE,
                    "cannot find the host side of " + nsFile + ": " + e.getMessage(), e);
        }
        List<GuardChain> chains = new ArrayList<>();
        List<HostSides.HostInterface> guarded = new ArrayList<>();
        List<String> unnamable = new ArrayList<>(0);
        for (HostSides.HostInterface hostInterface : side.interfaces()) {
            if (!GuardChain.validDevice(hostInterface.name())) {
                // skipped alone: the others (and a quarantine's) are still written; "host" is not claimed
                unnamable.add(dev.netfence.core.Printable.escape(hostInterface.name()));
                continue;
            }
            chains.add(new GuardChain(hostInterface.name(), hostInterface.ifindex(), owner));
            guarded.add(hostInterface);
        }
        // rendered before taking the lock: writes take turns, and the text is each writer's own work
        RenderedGuards.Rendered rendered = renderedGuards.of(plan);
        Map<String, List<String>> bodies = new HashMap<>();
        Map<String, String> expected = new HashMap<>();
        List<HostSides.Binding> bound = new ArrayList<>(chains.size());
        List<List<String>> later = new ArrayList<>(chains.size());
        List<ClaimedAddresses.Written> claimers = new ArrayList<>();
        List<List<String>> claimersLater = new ArrayList<>();
        synchronized (writes) {
            if (adoptPending) { // the start's adoption failed: the bindings a previous run wrote are not known
                try {
                    adopt();
                } catch (RuntimeException e) {
                    LOG.warn("host guard: netfence's host table still cannot be adopted ({})", e.getMessage());
                }
            }
            for (int i = 0; i < chains.size(); i++) {
                boolean fresh = firstBindings.first(chains.get(i)) == null;
                bound.add(firstBindings.narrow(chains.get(i), guarded.get(i).binding()));
                later.add(firstBindings.later(chains.get(i), bound.get(i)));
                if (fresh) {
                    claimers.addAll(claims.claimedBy(chains.get(i), owner, guarded.get(i).binding(), firstBindings));
                }
                claims.wrote(chains.get(i), bound.get(i), plan);
            }
            for (ClaimedAddresses.Written w : claimers) {
                claimersLater.add(firstBindings.later(w.chain(), w.bound()));
            }
        }
        for (int i = 0; i < chains.size(); i++) {
            GuardChain chain = chains.get(i);
            // each chain first binds the source addresses of its own peer, then holds the plan's shared body
            List<String> binding = renderer.binding(bound.get(i), later.get(i), plan);
            List<String> body = new ArrayList<>(binding.size() + rendered.body().size());
            List<String> canonical = new ArrayList<>(body.size());
            body.addAll(binding);
            body.addAll(rendered.body());
            binding.forEach(line -> canonical.add(GuardRenderer.canonical(line)));
            canonical.addAll(rendered.canonicalBody());
            bodies.put(chain.device(), body);
            expected.put(chain.device(), renderer.listingOfCanonical(chain, canonical));
        }
        // this container's chains whose interface no longer leads into its namespace (a workload holding
        // CAP_NET_ADMIN moved its veth into a namespace of its own): closed, so no policy outlives it there
        List<GuardChain> closed = closedChains.of(owner, chains, bodies, expected);
        chains.addAll(closed);
        String cannot = unnamable.isEmpty() ? null : "host interface names " + unnamable + " cannot be guarded";
        if (chains.isEmpty()) {
            return Result.netnsOnly(cannot != null ? cannot : "the container has no veth whose peer is in netfence's namespace");
        }
        String drift;
        try {
            drift = writes.submit(chains, bodies, expected);
        } finally { // the newcomer's first binding is remembered either way: its claimers lose the address
            claims.rewrite(claimers, claimersLater, writes);
            claims.tell(claimers);
        }
        if (closed.size() == chains.size()) {
            return new Result(List.of(NETNS), chains, "the container has no veth whose peer is in netfence's namespace;"
                    + " the host guards of its former veths " + closed.stream().map(GuardChain::device).toList()
                    + " now drop everything", drift);
        }
        if (side.unexamined() != null) {
            return new Result(List.of(NETNS), chains, "the container's interfaces were not all examined ("
                    + dev.netfence.core.Printable.escape(String.valueOf(side.unexamined())) + "): its veths into netfence's namespace are guarded, whatever else it has"
                    + " is not known", drift);
        }
        if (cannot != null) {
            return new Result(List.of(NETNS), chains, cannot, drift);
        }
        List<String> unbound = new ArrayList<>(0);
        for (int i = 0; i < guarded.size(); i++) {
            if (bound.get(i) == null) {
                unbound.add(chains.get(i).device());
            }
        }
        if (!unbound.isEmpty()) {
            // written all the same (the plan's destinations hold), but a guard that binds no source lets forged
            // ARP, neighbour advertisements and source addresses through: "host" would overstate it
            return new Result(List.of(NETNS), chains, "the source addresses of the container's interfaces behind host"
                    + " interfaces " + dev.netfence.core.Printable.escape(unbound.toString()) + " could not be read:"
                    + " their host guards bind no source address yet", drift);
        }
        if (!side.unguarded().isEmpty()) {
            // the veths are guarded all the same (defence in depth), but "host" would overstate it
            return new Result(List.of(NETNS), chains, "the container's interfaces "
                    + dev.netfence.core.Printable.escape(side.unguarded().toString()) + " reach outside its namespace without passing a host guard", drift);
        }
        return new Result(List.of(NETNS, HOST), chains, null, drift);
    }

    /**
     * Closes every chain of {@code owner} whose interface is still there (empties it: its policy
     * drops every frame), for a container whose namespace no longer holds the interfaces they guard;
     * the interfaces closed. Nothing with the guard off or no such chain.
     */
    public List<String> close(String owner) {
        Objects.requireNonNull(owner, "owner");
        if (mode == HostGuardMode.OFF) {
            return List.of();
        }
        Map<String, List<String>> bodies = new HashMap<>();
        Map<String, String> expected = new HashMap<>();
        List<GuardChain> closed = closedChains.of(owner, List.of(), bodies, expected);
        if (!closed.isEmpty()) {
            writes.submit(closed, bodies, expected);
        }
        return closed.stream().map(GuardChain::device).toList();
    }

    /** Removes every chain of {@code owner}; the number removed. */
    public int release(String owner) {
        synchronized (writes) {
            List<GuardChain> gone = writes.installed().values().stream().filter(c -> c.owner().equals(owner)).toList();
            writes.remove(gone);
            claims.forget(gone.stream().map(GuardChain::device).toList());
            return gone.size();
        }
    }

    /**
     * Removes the chains whose host interface is gone (no link of that name, or one with another
     * ifindex); the number removed. Costs one netlink dump, and one nft transaction only when
     * something is removed. Under off: every chain ({@link EarlierRunChains}), never throwing.
     */
    public int sweep() {
        synchronized (writes) {
            if (mode == HostGuardMode.OFF) {
                return leftovers.remove();
            }
            Map<String, Integer> links = hostLinks();
            List<GuardChain> gone = writes.installed().values().stream()
                    .filter(c -> !Integer.valueOf(c.ifindex()).equals(links.get(c.device()))).toList();
            writes.remove(gone);
            // also those of chains never written (a failed first apply): every interface gone
            firstBindings.forgetGone(links);
            claims.forgetGone(links);
            if (!gone.isEmpty()) {
                LOG.info("removed the host guards of vanished interfaces {}", gone.stream().map(GuardChain::device).toList());
            }
            return gone.size();
        }
    }

    /**
     * At start: reads the host table, keeps (adopts) every chain of netfence's shape whose
     * interface still exists with the recorded ifindex, removes every other chain; the number
     * adopted. The source binding an adopted chain holds becomes its first binding
     * ({@link FirstBindings#fromListedRules}), as if this instance had written it. When it fails
     * (the table cannot be read), the next apply tries again before it reads a binding. Under off it
     * adopts nothing and removes every chain ({@link #sweep}), never throwing.
     */
    public int adopt() {
        if (mode == HostGuardMode.OFF) {
            sweep();
            return 0;
        }
        synchronized (writes) {
            adoptPending = true;
            int[] bound = {0};
            List<String> removed = writes.adopt(this::hostLinks, (chain, rules) -> {
                Optional<HostSides.Binding> binding = FirstBindings.fromListedRules(rules);
                if (binding.isPresent()) {
                    firstBindings.remember(chain, binding.get());
                    List<String> ipv6 = new ArrayList<>(binding.get().ipv6()); // and those gained later, written apart
                    ipv6.addAll(FirstBindings.laterFromListedRules(rules));
                    claims.wrote(chain, new HostSides.Binding(binding.get().mac(), binding.get().ipv4(), ipv6), null);
                    bound[0]++;
                }
            });
            int adopted = writes.installed().size();
            LOG.info("host guard: adopted {} chain(s) left by a previous run, {} with the source binding they held;"
                    + " removed {}", adopted, bound[0], removed);
            adoptPending = false;
            return adopted;
        }
    }

    /** Why the host table may still hold chains that drop what a policy allows (under off: {@link EarlierRunChains}). */
    public Optional<String> notReadyReason() {
        return leftovers.notReadyReason();
    }

    /** Number of guarded host interfaces. */
    public int count() {
        if (mode == HostGuardMode.OFF) {
            return 0; // none written; not behind a sweep's listing (the /metrics gauge)
        }
        synchronized (writes) {
            return writes.installed().size();
        }
    }

    /** The chains installed now, by interface name (a copy). */
    public Map<String, GuardChain> installed() {
        synchronized (writes) {
            return Map.copyOf(writes.installed());
        }
    }

    /** The guard's chain for {@code plan} on a placeholder interface, as {@code netfence plan} shows it. */
    public static String show(PlannedRules plan) {
        return new GuardRenderer().show(new GuardChain("HOST-VETH", 1, "CONTAINER"), plan);
    }

    private Map<String, Integer> hostLinks() {
        try {
            return sides.hostLinks();
        } catch (IOException e) {
            throw GuardTableCalls.unavailable(e);
        }
    }
}
