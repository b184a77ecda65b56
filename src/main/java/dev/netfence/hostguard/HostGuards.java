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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host guards of one netfence instance: the chains of {@code table netdev netfence} in the
 * host namespace, one per guarded host interface. {@link #apply} finds a container's host side
 * ({@link HostSides}) and installs or replaces its chains with the plan's egress decision in one
 * nft transaction ({@link GuardRenderer}); {@link #release} removes a container's chains;
 * {@link #sweep} removes every chain whose interface is gone (a veth that disappears takes its
 * container's guard with it within one sweep; a kernel keeps a netdev chain after its device goes
 * and binds it to the next device of that name, so a chain whose recorded ifindex no longer
 * matches is removed too); {@link #adopt} runs at start and keeps a previous run's chains whose
 * interface still exists (they are replaced by name at the next apply, so a restart never
 * duplicates one) and removes the rest. Nothing outside netfence's table is ever written. Writes
 * take turns (one lock), each is one nft transaction; when the kernel's table differs from what
 * this instance believed (an admin deleted a chain), the state is re-read and the write retried
 * once. A re-apply reads before it writes: when this instance wrote the same chain (interface,
 * ifindex, owner) with the same rules before, the chain is listed from the kernel and compared
 * with the exact text nft prints for it ({@link GuardRenderer#listing}, set elements in sorted order); equal, nothing is written;
 * different (a rule changed, added or removed, the chain or its hook gone), the chain is
 * rewritten and the result names the difference ({@link Result#drift}), so a resync repairs and
 * counts host-side drift instead of rewriting every chain blind. The listing is skipped too while
 * the host's nftables ruleset generation ({@link HostTable#generation}, advanced by the kernel at
 * every committed transaction, whoever commits it) is still the one at which the chain was last
 * listed equal or written by this instance's own transaction alone. A new guard or a changed plan is
 * written without reading first (it differs by construction). Failures: nft refusing the text is
 * RULES_REJECTED, nft or netlink unusable is FIREWALL_UNAVAILABLE, no host side under
 * {@code required} is HOST_GUARD_UNAVAILABLE.
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
    }

    private final HostGuardMode mode;
    private final HostSides sides;
    private final HostTable table;
    private final GuardRenderer renderer = new GuardRenderer();
    /** The chains this instance knows to be installed, by chain (interface) name. */
    private final Map<String, GuardChain> installed = new HashMap<>();
    /**
     * For each chain this instance wrote, the listing nft prints for what it wrote (the chain and
     * its rules); absent when unknown (adopted, or re-read after a refused write).
     */
    private final Map<String, String> written = new HashMap<>();
    /**
     * For each chain known to hold {@link #written}: the host ruleset generation at which that was
     * last established (listed and equal, or written by this instance's own transaction with no
     * other between). While the generation stays there, nothing in the host's nftables ruleset
     * changed, so a re-apply neither lists nor writes.
     */
    private final Map<String, Long> heldAt = new HashMap<>();

    public HostGuards(HostGuardMode mode, HostSides sides, HostTable table) {
        this.mode = Objects.requireNonNull(mode, "mode");
        this.sides = Objects.requireNonNull(sides, "sides");
        this.table = Objects.requireNonNull(table, "table");
    }

    /**
     * The production wiring: host sides over rtnetlink, the table through libnftables in-process,
     * or through the {@code nft} program when the library cannot be loaded.
     */
    public static HostGuards create(HostGuardMode mode, dev.netfence.netns.CommandRunner runner) {
        HostTable table = mode == HostGuardMode.OFF ? new NftProcessTable(runner, java.time.Duration.ofSeconds(20))
                : LibNftablesTable.load().orElseGet(() -> {
                    LOG.info("libnftables not loadable; the host guard runs the nft program");
                    return new NftProcessTable(runner, java.time.Duration.ofSeconds(20));
                });
        return new HostGuards(mode, new NetlinkHostSides(new Rtnetlink()), table);
    }

    public HostGuardMode mode() {
        return mode;
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
        if (side.interfaces().isEmpty()) {
            return Result.netnsOnly("the container has no veth whose peer is in netfence's namespace");
        }
        List<GuardChain> chains = new ArrayList<>();
        for (HostSides.HostInterface hostInterface : side.interfaces()) {
            if (!GuardChain.validDevice(hostInterface.name())) {
                return Result.netnsOnly("host interface name " + hostInterface.name() + " cannot be guarded");
            }
            chains.add(new GuardChain(hostInterface.name(), hostInterface.ifindex(), owner));
        }
        // rendered before taking the lock: writes take turns, and the text is each writer's own work
        List<String> body = renderer.rules(plan);
        Map<String, String> expected = new HashMap<>();
        for (GuardChain chain : chains) {
            expected.put(chain.device(), renderer.listing(chain, body));
        }
        String drift;
        synchronized (this) {
            drift = writeUnlessHeld(chains, body, expected);
        }
        if (!side.unguarded().isEmpty()) {
            // the veths are guarded all the same (defence in depth), but "host" would overstate it
            return new Result(List.of(NETNS), chains, "the container's interfaces " + side.unguarded()
                    + " reach outside its namespace without passing a host guard", drift);
        }
        return new Result(List.of(NETNS, HOST), chains, null, drift);
    }

    /**
     * Writes {@code chains} with {@code body} (whose listings are {@code expected}), unless each
     * already holds exactly that: when this instance wrote the same chain with the same rules
     * before, the kernel's listing is compared first. The difference found in such a chain (null when none, or when there was nothing to
     * compare with).
     */
    private String writeUnlessHeld(List<GuardChain> chains, List<String> body, Map<String, String> expected) {
        boolean compare = true;
        for (GuardChain chain : chains) {
            compare &= chain.equals(installed.get(chain.device())) && expected.get(chain.device()).equals(written.get(chain.device()));
        }
        List<String> differences = new ArrayList<>();
        if (compare) {
            long generation = generation();
            Long now = generation;
            if (generation >= 0 && chains.stream().allMatch(c -> now.equals(heldAt.get(c.device())))) {
                return null; // the host's ruleset has not changed since the chains were known to hold this
            }
            for (GuardChain chain : chains) {
                String listed = GuardRenderer.canonical(listChain(chain.device()));
                if (!listed.equals(expected.get(chain.device()))) {
                    differences.add(GuardRenderer.difference(chain.device(), expected.get(chain.device()), listed));
                }
            }
            if (differences.isEmpty()) {
                // held at that generation only if nothing committed while they were listed
                if (generation >= 0 && generation() == generation) {
                    chains.forEach(c -> heldAt.put(c.device(), generation));
                }
                return null;
            }
            LOG.warn("host guard differed from what netfence wrote; rewriting it: {}", differences);
        }
        long before = generation();
        write(() -> {
            List<String> recreate = new ArrayList<>();
            for (GuardChain chain : chains) {
                GuardChain known = installed.get(chain.device());
                if (known != null && !known.equals(chain)) {
                    recreate.add(chain.device());
                }
            }
            return renderer.replace(chains, recreate, body);
        });
        // our transaction alone advanced the generation by one: the chains hold exactly what it wrote
        long after = before >= 0 ? generation() : -1;
        for (GuardChain chain : chains) {
            installed.put(chain.device(), chain);
            written.put(chain.device(), expected.get(chain.device()));
            if (after >= 0 && after == before + 1) {
                heldAt.put(chain.device(), after);
            } else {
                heldAt.remove(chain.device());
            }
        }
        return differences.isEmpty() ? null : String.join("; ", differences);
    }

    /** The host ruleset's generation, or -1 when the table cannot tell or asking fails (then chains are listed). */
    private long generation() {
        try {
            return table.generation();
        } catch (IOException e) {
            LOG.debug("host ruleset generation unavailable ({}); comparing by listing", e.getMessage());
            return -1;
        }
    }

    private String listChain(String chain) {
        try {
            return table.listChain(chain);
        } catch (IOException e) {
            throw unavailable(e);
        }
    }

    /** Removes every chain of {@code owner}; the number removed. */
    public synchronized int release(String owner) {
        List<String> gone = installed.values().stream().filter(c -> c.owner().equals(owner)).map(GuardChain::device)
                .toList();
        remove(gone);
        return gone.size();
    }

    /**
     * Removes the chains whose host interface is gone (no link of that name, or one with another
     * ifindex); the number removed. Costs one netlink dump, and one nft transaction only when
     * something is removed.
     */
    public synchronized int sweep() {
        Map<String, Integer> links = hostLinks();
        List<String> gone = installed.values().stream()
                .filter(c -> !Integer.valueOf(c.ifindex()).equals(links.get(c.device())))
                .map(GuardChain::device).toList();
        remove(gone);
        if (!gone.isEmpty()) {
            LOG.info("removed the host guards of vanished interfaces {}", gone);
        }
        return gone.size();
    }

    /**
     * At start: reads the host table, keeps (adopts) every chain of netfence's shape whose
     * interface still exists with the recorded ifindex, removes every other chain; the number
     * adopted.
     */
    public synchronized int adopt() {
        if (mode == HostGuardMode.OFF) {
            return 0;
        }
        resync(true);
        LOG.info("host guard: adopted {} chain(s) left by a previous run", installed.size());
        return installed.size();
    }

    /** Number of guarded host interfaces. */
    public synchronized int count() {
        return installed.size();
    }

    /** The chains installed now, by interface name (a copy). */
    public synchronized Map<String, GuardChain> installed() {
        return Map.copyOf(installed);
    }

    /** The guard's chain for {@code plan} on a placeholder interface, as {@code netfence plan} shows it. */
    public static String show(PlannedRules plan) {
        return new GuardRenderer().show(new GuardChain("HOST-VETH", 1, "CONTAINER"), plan);
    }

    private void remove(List<String> chains) {
        if (chains.isEmpty()) {
            return;
        }
        write(() -> {
            StringBuilder sb = new StringBuilder();
            chains.stream().filter(installed::containsKey).forEach(c -> sb.append(renderer.delete(c)));
            return sb.toString();
        });
        chains.forEach(installed::remove);
        chains.forEach(written::remove);
        chains.forEach(heldAt::remove);
    }

    /** A script that depends on {@link #installed}, rebuilt after a resync. */
    @FunctionalInterface
    private interface Script {
        String build();
    }

    private void write(Script script) {
        String text = script.build();
        if (text.isBlank()) {
            return;
        }
        try {
            table.run(text);
        } catch (HostTable.Rejected first) {
            LOG.warn("host table differs from what netfence recorded ({}); re-reading it and retrying", first.getMessage());
            resync(false);
            String again = script.build();
            try {
                if (!again.isBlank()) {
                    table.run(again);
                }
            } catch (HostTable.Rejected e) {
                LOG.error("nft refused the host guard (exit): {}\n--- input ---\n{}--- end ---", e.getMessage(), again);
                throw new EnforcementException(ErrorCode.RULES_REJECTED, "host guard rejected: " + e.getMessage(), e);
            } catch (IOException e) {
                throw unavailable(e);
            }
        } catch (IOException e) {
            throw unavailable(e);
        }
    }

    /**
     * Rebuilds {@link #installed} from the kernel's table; with {@code removeStale}, also removes
     * chains whose interface is gone and chains not of netfence's shape.
     */
    private void resync(boolean removeStale) {
        String listing;
        try {
            listing = table.list();
        } catch (IOException e) {
            throw unavailable(e);
        }
        Map<String, Integer> links = removeStale ? hostLinks() : Map.of();
        installed.clear();
        written.clear();
        heldAt.clear();
        StringBuilder stale = new StringBuilder();
        for (GuardListing.Chain chain : GuardListing.parse(listing)) {
            Optional<GuardChain> guard = GuardChain.fromListing(chain.name(), chain.comment());
            boolean keep = guard.isPresent() && chain.devices().equals(List.of(chain.name()))
                    && (!removeStale || Integer.valueOf(guard.get().ifindex()).equals(links.get(chain.name())));
            if (keep) {
                installed.put(chain.name(), guard.get());
            } else if (removeStale && GuardChain.validDevice(chain.name())) {
                stale.append(renderer.delete(chain.name()));
            }
        }
        if (!stale.isEmpty()) {
            try {
                table.run(stale.toString());
            } catch (HostTable.Rejected e) {
                throw new EnforcementException(ErrorCode.RULES_REJECTED, "removing stale host guards: " + e.getMessage(), e);
            } catch (IOException e) {
                throw unavailable(e);
            }
        }
    }

    private Map<String, Integer> hostLinks() {
        try {
            return sides.hostLinks();
        } catch (IOException e) {
            throw unavailable(e);
        }
    }

    private static EnforcementException unavailable(IOException e) {
        return new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE, "host guard: " + e.getMessage(), e);
    }
}
