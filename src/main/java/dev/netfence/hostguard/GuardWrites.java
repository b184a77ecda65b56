package dev.netfence.hostguard;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every write of {@link HostGuards}' host table and what this instance knows the table holds: the
 * chains installed, the listing each should print, and the host ruleset generation at which it
 * was last known to print it. Applies' writes are done a batch at a time ({@link GroupCommit}):
 * the applies that queued for the lock while another wrote are checked and written together, in
 * one nft transaction, so under parallel applies the fixed cost of a transaction (nft loading the
 * host table's cache, the kernel's commit) is paid once per batch, not once per apply in a queue.
 * A re-apply of the same chains with the same rules writes nothing: not when the generation is
 * still one at which they held them (nothing committed since, by anyone), not when the kernel's
 * listing equals what was written; a difference is rewritten and named. When the generation moved
 * by exactly one across a transaction of this instance's, the transaction was the only commit
 * between: every chain it did not touch that was known to hold its rules at the generation
 * before still does at the one after. A chain is written only while its interface still has the
 * index found for it (a name reused by another container's veth meanwhile fails the apply, which
 * is retried). A refused transaction re-reads the table and is retried once; a refused joint
 * transaction is not retried as one: each apply is then written on its own, so one apply's
 * refused text fails that apply alone. All methods run under this instance's monitor (the
 * caller's lock).
 */
final class GuardWrites {
    private static final Logger LOG = LoggerFactory.getLogger(GuardWrites.class);

    private final GuardTableCalls table;
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
     * other between, or left untouched by such a transaction). While the generation stays there,
     * nothing in the host's nftables ruleset changed, so a re-apply neither lists nor writes.
     */
    private final Map<String, Long> heldAt = new HashMap<>();
    private final GroupCommit<Pending, String> commits = new GroupCommit<>(this, this::writeBatch);
    private final LinkCheck links;

    /** Whether a host interface named {@code name} still has index {@code ifindex}. */
    @FunctionalInterface
    interface LinkCheck {
        boolean current(String name, int ifindex) throws IOException;
    }

    GuardWrites(HostTable table, LinkCheck links) {
        this.table = new GuardTableCalls(table);
        this.links = links;
    }

    /** One apply's chains, their body and the listing each should print. */
    private record Pending(List<GuardChain> chains, Map<String, List<String>> bodies, Map<String, String> expected) {
        boolean touches(Set<String> devices) {
            return chains.stream().anyMatch(c -> devices.contains(c.device()));
        }
    }

    /**
     * Writes {@code chains} with {@code body} (whose listings are {@code expected}) unless they
     * hold it already; the difference found in a chain this instance had written with the same
     * rules (null when none, or nothing to compare with).
     */
    String submit(List<GuardChain> chains, List<String> body, Map<String, String> expected) {
        Map<String, List<String>> bodies = new HashMap<>();
        chains.forEach(chain -> bodies.put(chain.device(), body));
        return submit(chains, bodies, expected);
    }

    /** As {@link #submit(List, List, Map)} with each chain's own body, by device. */
    String submit(List<GuardChain> chains, Map<String, List<String>> bodies, Map<String, String> expected) {
        return commits.submit(new Pending(List.copyOf(chains), Map.copyOf(bodies), expected));
    }

    /** The chains known to be installed (live view; only under this monitor). */
    Map<String, GuardChain> installed() {
        return installed;
    }

    /**
     * Writes a batch of applies in queue order: runs of applies that share no chain are checked
     * and written together; an apply touching a chain already in the run starts the next run, so
     * no apply is checked against the kernel before an earlier apply's write of its chain.
     */
    private void writeBatch(List<GroupCommit.Entry<Pending, String>> batch) {
        List<GroupCommit.Entry<Pending, String>> run = new ArrayList<>();
        Set<String> devices = new HashSet<>();
        for (GroupCommit.Entry<Pending, String> entry : batch) {
            if (entry.item().touches(devices)) {
                writeRun(run);
                run.clear();
                devices.clear();
            }
            run.add(entry);
            entry.item().chains().forEach(c -> devices.add(c.device()));
        }
        writeRun(run);
    }

    /**
     * Completes each apply of {@code run} (no two share a chain) whose chains hold what it asks
     * already ({@link #check}); fails one whose host interface is no longer the one found for it
     * ({@link LinkCheck}: replaced while it queued, so the name now names another container's
     * veth); writes the others' chains in one transaction. When nft refuses the joint
     * transaction, each apply is written on its own (with the re-read and retry of
     * {@link #write(Script)}), so one apply's refused text fails that apply alone. Any failure is
     * its own apply's: a per-apply exception instance.
     */
    private void writeRun(List<GroupCommit.Entry<Pending, String>> run) {
        Map<GroupCommit.Entry<Pending, String>, String> drifts = new IdentityHashMap<>();
        List<GroupCommit.Entry<Pending, String>> writing = new ArrayList<>();
        for (GroupCommit.Entry<Pending, String> entry : run) {
            try {
                Optional<Check> check = check(entry.item());
                if (check.isEmpty()) {
                    entry.complete(null);
                } else {
                    requireCurrent(entry.item());
                    drifts.put(entry, check.get().drift());
                    writing.add(entry);
                }
            } catch (RuntimeException e) {
                entry.fail(e);
            }
        }
        if (writing.size() > 1) {
            try {
                if (writeJoint(writing.stream().map(GroupCommit.Entry::item).toList())) {
                    writing.forEach(e -> e.complete(drifts.get(e)));
                    return;
                }
                LOG.warn("nft refused the joint host guard transaction of {} applies; writing each on its own",
                        writing.size());
            } catch (EnforcementException e) {
                writing.forEach(entry -> entry.fail(new EnforcementException(e.code(), e.getMessage(), e)));
                return;
            }
        }
        for (GroupCommit.Entry<Pending, String> entry : writing) {
            try {
                write(List.of(entry.item()));
                entry.complete(drifts.get(entry));
            } catch (RuntimeException e) {
                entry.fail(e);
            }
        }
    }

    /**
     * VERIFY_FAILED (retried: the next attempt finds the container's host side again) when a chain
     * of {@code pending} names an interface that no longer has the ifindex found for it: a chain
     * is bound to its device by name, so writing it would guard another container's interface
     * with this container's policy.
     */
    private void requireCurrent(Pending pending) {
        for (GuardChain chain : pending.chains()) {
            boolean current;
            try {
                current = links.current(chain.device(), chain.ifindex());
            } catch (IOException e) {
                throw GuardTableCalls.unavailable(e);
            }
            if (!current) {
                throw new EnforcementException(ErrorCode.VERIFY_FAILED, "host interface " + chain.device()
                        + " is no longer ifindex " + chain.ifindex() + " (replaced while its guard waited); nothing written");
            }
        }
    }

    /** An apply whose chains must be written, and the difference found in them (null: none, or nothing compared). */
    private record Check(String drift) {
    }

    /**
     * Empty when {@code pending}'s chains hold exactly its rules already: this instance wrote the
     * same chains with the same rules before, and the host ruleset's generation is still one at
     * which they were known to hold them, or the kernel's listing of each equals what was written.
     */
    private Optional<Check> check(Pending pending) {
        List<GuardChain> chains = pending.chains();
        Map<String, String> expected = pending.expected();
        boolean compare = true;
        for (GuardChain chain : chains) {
            compare &= chain.equals(installed.get(chain.device()))
                    && expected.get(chain.device()).equals(written.get(chain.device()));
        }
        if (!compare) {
            return Optional.of(new Check(null)); // new, or changed: differs by construction
        }
        long generation = table.generation();
        Long now = generation;
        if (generation >= 0 && chains.stream().allMatch(c -> now.equals(heldAt.get(c.device())))) {
            return Optional.empty(); // the host's ruleset has not changed since the chains were known to hold this
        }
        List<String> differences = new ArrayList<>();
        for (GuardChain chain : chains) {
            String listed = GuardRenderer.canonical(table.listChain(chain.device()));
            if (!listed.equals(expected.get(chain.device()))) {
                differences.add(GuardRenderer.difference(chain.device(), expected.get(chain.device()), listed));
            }
        }
        if (differences.isEmpty()) {
            // held at that generation only if nothing committed while they were listed
            if (generation >= 0 && table.generation() == generation) {
                chains.forEach(c -> heldAt.put(c.device(), generation));
            }
            return Optional.empty();
        }
        LOG.warn("host guard differed from what netfence wrote; rewriting it: {}", differences);
        return Optional.of(new Check(String.join("; ", differences)));
    }

    /**
     * Writes the chains of {@code pendings} (no two share a chain) in one transaction and records
     * them; a refusal re-reads the table and retries once ({@link #write(Script)}).
     */
    private void write(List<Pending> pendings) {
        long before = table.generation();
        write(() -> script(pendings));
        record(pendings, before);
    }

    /**
     * Writes the chains of {@code pendings} in one transaction, without a retry: false when nft
     * refused it (nothing written), FIREWALL_UNAVAILABLE when nft cannot be run.
     */
    private boolean writeJoint(List<Pending> pendings) {
        long before = table.generation();
        try {
            table.run(script(pendings));
        } catch (HostTable.Rejected e) {
            return false;
        }
        record(pendings, before);
        return true;
    }

    private String script(List<Pending> pendings) {
        StringBuilder script = new StringBuilder();
        for (Pending pending : pendings) {
            List<String> recreate = new ArrayList<>();
            for (GuardChain chain : pending.chains()) {
                GuardChain known = installed.get(chain.device());
                if (known != null && !known.equals(chain)) {
                    recreate.add(chain.device());
                }
            }
            script.append(renderer.replace(pending.chains(), recreate, chain -> pending.bodies().get(chain.device())));
        }
        return script.toString();
    }

    /**
     * Records what a transaction of {@code pendings} wrote, {@code before} being the generation
     * read just before it; see the class comment for what a generation that moved by exactly one
     * proves.
     */
    private void record(List<Pending> pendings, long before) {
        long after = before >= 0 ? table.generation() : -1;
        boolean oursAlone = after >= 0 && after == before + 1;
        if (oursAlone) {
            heldAt.replaceAll((device, at) -> at == before ? after : at);
        }
        for (Pending pending : pendings) {
            for (GuardChain chain : pending.chains()) {
                installed.put(chain.device(), chain);
                written.put(chain.device(), pending.expected().get(chain.device()));
                if (oursAlone) {
                    heldAt.put(chain.device(), after);
                } else {
                    heldAt.remove(chain.device());
                }
            }
        }
    }

    /**
     * Removes {@code chains} in one transaction: each only while it is the chain installed on its
     * interface name, as recorded when the script is built (also when a refused write re-reads the
     * table and builds it again). A name a new interface took since, whose chain another container's
     * apply wrote meanwhile, is that container's: deleting it by name would leave that container
     * unguarded until a resync put it back.
     */
    void remove(List<GuardChain> chains) {
        if (chains.isEmpty()) {
            return;
        }
        write(() -> {
            StringBuilder sb = new StringBuilder();
            chains.stream().filter(c -> c.equals(installed.get(c.device()))).forEach(c -> sb.append(renderer.delete(c.device())));
            return sb.toString();
        });
        for (GuardChain chain : chains) {
            if (installed.remove(chain.device(), chain)) {
                written.remove(chain.device());
                heldAt.remove(chain.device());
            }
        }
    }

    /**
     * At start: rebuilds what is installed from the kernel's table, keeping every chain of
     * netfence's shape whose interface is among the host's links with the recorded ifindex and
     * removing every other; hands each chain kept, with its rule lines as nft lists them, to
     * {@code kept} before removing the others (so also when their removal fails); the names of the
     * chains removed ({@link #installed} holds those kept). Links that are always empty remove every
     * chain (under {@code --host-guard off}: {@link EarlierRunChains}). The links are read after the
     * table is listed: another instance of the node (a rolling update's overlap) writes a chain only
     * for an interface that exists, so a chain listed is judged by links at least as new as it, and
     * one written for an interface made meanwhile is not taken for a stale one.
     */
    List<String> adopt(Links links, BiConsumer<GuardChain, List<String>> kept) {
        return resync(links, kept);
    }

    /** The host's interfaces, name to ifindex, read when asked. */
    @FunctionalInterface
    interface Links {
        Map<String, Integer> read();
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
            resync(null, (chain, rules) -> { });
            String again = script.build();
            try {
                if (!again.isBlank()) {
                    table.run(again);
                }
            } catch (HostTable.Rejected e) {
                LOG.error("nft refused the host guard (exit): {}\n--- input ---\n{}--- end ---", e.getMessage(), again);
                throw new EnforcementException(ErrorCode.RULES_REJECTED, "host guard rejected: " + e.getMessage(), e);
            }
        }
    }

    /**
     * Rebuilds {@link #installed} from the kernel's table; given the host's {@code links} (read
     * after the listing), also removes chains whose interface is gone and chains not of netfence's
     * shape, after handing each chain kept with its rule lines to {@code kept}; the chains removed.
     */
    private List<String> resync(Links readLinks, BiConsumer<GuardChain, List<String>> kept) {
        String listing = table.list();
        boolean removeStale = readLinks != null;
        Map<String, Integer> links = removeStale ? readLinks.read() : Map.of();
        installed.clear();
        written.clear();
        heldAt.clear();
        List<String> stale = new ArrayList<>();
        for (GuardListing.Chain chain : GuardListing.parse(listing)) {
            Optional<GuardChain> guard = GuardChain.fromListing(chain.name(), chain.comment());
            boolean keep = guard.isPresent() && chain.devices().equals(List.of(chain.name()))
                    && (!removeStale || Integer.valueOf(guard.get().ifindex()).equals(links.get(chain.name())));
            if (keep) {
                installed.put(chain.name(), guard.get());
                kept.accept(guard.get(), chain.rules());
            } else if (removeStale && GuardChain.validDevice(chain.name())) {
                stale.add(chain.name());
            }
        }
        if (!stale.isEmpty()) {
            try {
                table.run(stale.stream().map(renderer::delete).collect(java.util.stream.Collectors.joining()));
            } catch (HostTable.Rejected e) {
                throw new EnforcementException(ErrorCode.RULES_REJECTED, "removing stale host guards: " + e.getMessage(), e);
            }
        }
        return stale;
    }
}
