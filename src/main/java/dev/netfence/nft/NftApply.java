package dev.netfence.nft;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.rules.PlannedRules;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The steps of one nft apply, the same whether the commands run in-process (on a namespace
 * thread, while away) or through {@code nsenter nft}: replace netfence's table in one transaction,
 * read it back (in-process, only what {@link NftCensus} counted first allows, and never listed
 * by libnftables: netfence's table as the kernel's bytes, compared with the plan's table as
 * learnt in a fresh namespace ({@link #learn}, {@link TableBytes}), and what the iptables
 * backend left in {@code filter} tables as the census read it, no larger than the limit; through
 * the program, the whole ruleset as JSON), remove what the iptables backend left that nftables can see (its
 * {@code NETFENCE-*} chains and the jumps to them, in a second transaction, only when present:
 * a namespace that switched backend), and verify the table against the plan. It never logs and
 * never throws for the rules' or the kernel's sake: the {@link Result} says how far it got, so a
 * caller away from home can carry it back and report it there.
 */
final class NftApply {
    /** The chains of a {@code filter} table the iptables backend writes in or jumps from. */
    static final List<String> LEFTOVER_CHAINS = List.of("NETFENCE-OUT", "NETFENCE-IN", "NETFENCE-FWD", "OUTPUT", "INPUT",
            "FORWARD");

    /** Runs nft script text (one transaction) and lists the ruleset as JSON, in the target namespace. */
    interface Commands {
        NftContext.Run apply(String script);

        /** Lists the whole ruleset as JSON: where no {@link #census} can be taken. */
        NftContext.Run listJson();

        /** Lists one chain as JSON ({@code list chain FAMILY TABLE NAME}): after a {@link #census}. */
        default NftContext.Run listChain(String family, String table, String chain) {
            throw new UnsupportedOperationException("no chain listing here");
        }

        /**
         * What the namespace's tables hold ({@link NftCensus#take}), counted without listing; with
         * {@code planRules} negative (right after netfence's own transaction replaced its table)
         * netfence's table's sets and rules are not counted. Null where no census can be taken (the
         * {@code nft} program's backend): then the whole ruleset is listed, the program's output
         * bounded by the command runner instead.
         */
        default NftCensus.Counts census(int planRules) {
            return null;
        }

        /**
         * netfence's table read over raw netlink ({@link TableBytes#take}), its rules up to
         * {@code planRules} + 1; null where it cannot be (the {@code nft} program's backend, whose
         * listing runs in a process of its own). Where it can, netfence's table is never listed.
         */
        default TableBytes table(int planRules) {
            return null;
        }

        /**
         * The namespace's nftables ruleset generation ({@link NftGeneration}), or
         * {@link NftGeneration#UNKNOWN} where it cannot be read (then nothing is skipped later).
         */
        default long generation() {
            return NftGeneration.UNKNOWN;
        }
    }

    /**
     * How an apply went.
     *
     * @param changed whether the table transaction was committed (the namespace's rules changed)
     * @param error why the apply does not count as applied, or null
     * @param removedIptablesChains whether the iptables backend's chains were found and removed
     * @param generation the ruleset generation the verifying read-back belongs to (read the same
     *     just before and just after it), or {@link NftGeneration#UNKNOWN}
     */
    record Result(boolean changed, EnforcementException error, boolean removedIptablesChains, long generation) {
        Result(boolean changed, EnforcementException error, boolean removedIptablesChains) {
            this(changed, error, removedIptablesChains, NftGeneration.UNKNOWN);
        }
    }

    /**
     * A read-back compared with a plan.
     *
     * @param difference what differs, empty when the table is exactly the plan
     * @param generation the ruleset generation that read-back belongs to, or {@link NftGeneration#UNKNOWN}
     */
    record Drift(Optional<String> difference, long generation) {}

    private final NftRenderer renderer;
    private final NftVerifier verifier;
    private final RenderedPlans rendered;
    private final java.util.concurrent.atomic.LongAdder known = new java.util.concurrent.atomic.LongAdder();

    NftApply(NftRenderer renderer) {
        this.renderer = Objects.requireNonNull(renderer, "renderer");
        this.verifier = new NftVerifier(renderer);
        this.rendered = new RenderedPlans(renderer);
    }

    /**
     * Why removing the iptables backend's chains was refused. The kernel answers EBUSY
     * ({@code Device or resource busy}) when deleting a chain something still refers to; its own
     * rules deleted in the same batch, that is a reference the batch did not remove. When the
     * read-back after the refusal shows no jump the batch did not name ({@code unlisted}), the
     * reference is one netfence does not list (the in-process read-back lists only
     * {@link #LEFTOVER_CHAINS}): a jump or goto from a chain of the workload's,
     * or a verdict map's element. That does not pass with time, so it is RULES_REJECTED, not the
     * LOCK_CONTENDED a busy firewall gets: retried, it failed the same way until the deadline and
     * was reported as contention. A jump added meanwhile by another process stays LOCK_CONTENDED.
     */
    static EnforcementException removalRefused(String errors, boolean unlisted) {
        EnforcementException e = NftErrors.classify("removing the iptables backend's chains", errors);
        if (dev.netfence.netns.LibNftables.Busy.in(errors)) {
            return e; // never sent: its turn did not come (LOCK_CONTENDED), not the kernel refusing
        }
        if (unlisted && e.code() == ErrorCode.LOCK_CONTENDED && errors != null
                && errors.toLowerCase(java.util.Locale.ROOT).contains("device or resource busy")) {
            return new EnforcementException(ErrorCode.RULES_REJECTED, "nftables refused removing the iptables"
                    + " backend's chains " + inWords(NftRuleset.IPTABLES_CHAINS) + ": something netfence"
                    + " does not list still refers to them (a jump or goto from a chain of the ip/ip6 filter table other"
                    + " than " + inWords(LEFTOVER_CHAINS.subList(3, 6)) + ", or a verdict map); netfence's"
                    + " table was written, the old chains stay beside it; remove that reference, or the chains: "
                    + (errors.strip().length() > 2000 ? errors.strip().substring(0, 2000) + "…" : errors.strip()));
        }
        return e;
    }

    /** "a, b and c". */
    private static String inWords(List<String> names) {
        return String.join(", ", names.subList(0, names.size() - 1)) + " and " + names.get(names.size() - 1);
    }

    /**
     * Writes {@code plan} and verifies it; {@code learnt}: the plan's table as the kernel holds it
     * ({@link #learn}), which a read-back after a census needs, or null where the commands take no
     * census (the {@code nft} program's backend lists instead).
     */
    Result apply(Commands commands, PlannedRules plan, TableBytes learnt) {
        RenderedPlans.Rendered text = rendered.of(plan);
        NftContext.Run applied = commands.apply(text.transaction());
        if (!applied.ok()) {
            return new Result(false, NftErrors.classify("netfence's table", applied.errors()), false);
        }
        NftReadBack.ReadBack read;
        boolean removed = false;
        long before;
        try {
            before = commands.generation();
            read = NftReadBack.read(commands, text, learnt, true, before);
            if (read.unread() == null && !read.ruleset().leftovers().isEmpty()) {
                List<NftRuleset.Leftover> leftovers = read.ruleset().leftovers();
                NftContext.Run cleaned = commands.apply(renderer.removeIptablesLeftovers(leftovers));
                removed = cleaned.ok();
                before = commands.generation();
                read = NftReadBack.read(commands, text, learnt, true, before);
                List<NftRuleset.Leftover> left = read.unread() == null ? read.ruleset().leftovers() : List.of();
                if (!cleaned.ok() && !left.isEmpty()) {
                    // (a refusal with nothing left over means another writer removed them first.) A jump
                    // listed now that the batch did not name was added meanwhile (another process
                    // writing): the next attempt lists it. None: what holds the chains is not listed.
                    boolean unlisted = left.stream().allMatch(l -> l.isChain() || leftovers.contains(l));
                    return new Result(true, removalRefused(cleaned.errors(), unlisted), false);
                }
                if (!left.isEmpty()) {
                    return new Result(true, new EnforcementException(ErrorCode.VERIFY_FAILED,
                            "the iptables backend's chains are still there after removing them: " + left),
                            true);
                }
            }
        } catch (EnforcementException e) {
            return new Result(true, e, removed);
        }
        Optional<String> mismatch = verify(text, read);
        if (mismatch.isPresent()) {
            return new Result(true, new EnforcementException(ErrorCode.VERIFY_FAILED,
                    "nft read-back differs: " + mismatch.get()), removed);
        }
        return new Result(true, null, removed, sameGeneration(read.generation(), commands.generation()));
    }

    /**
     * Reads the ruleset back and compares netfence's table with {@code plan}, writing nothing: what
     * differs (or the iptables backend's chains being present), empty when it is exactly the plan,
     * with the ruleset generation the read-back belongs to. An unreadable listing is thrown.
     */
    Drift drift(Commands commands, PlannedRules plan, TableBytes learnt) {
        RenderedPlans.Rendered text = rendered.of(plan);
        long before = commands.generation();
        NftReadBack.ReadBack read = NftReadBack.read(commands, text, learnt, false, before);
        if (read.unread() != null) {
            return new Drift(Optional.of(read.unread()), NftGeneration.UNKNOWN);
        }
        if (!read.ruleset().leftovers().isEmpty()) {
            return new Drift(Optional.of("the iptables backend's chains are present: " + read.ruleset().leftovers()),
                    NftGeneration.UNKNOWN);
        }
        Optional<String> mismatch = verify(text, read);
        return new Drift(mismatch, mismatch.isPresent() ? NftGeneration.UNKNOWN
                : sameGeneration(read.generation(), commands.generation()));
    }

    /**
     * What differs between a read-back and the plan: the census's or the table bytes' difference,
     * none when the table's bytes are the plan's ({@link TableBytes}), else the verifier's answer
     * on the listing.
     */
    private Optional<String> verify(RenderedPlans.Rendered text, NftReadBack.ReadBack read) {
        if (read.unread() != null) {
            return Optional.of(read.unread());
        }
        if (read.known()) {
            known.increment();
            return Optional.empty();
        }
        return verifier.mismatch(text.expected(), read.ruleset());
    }

    /** What to hold while learning {@code plan} ({@link #learn}), so that one caller learns it at a time. */
    java.util.concurrent.locks.ReentrantLock learning(PlannedRules plan) {
        return rendered.of(plan).learning();
    }

    /** {@code plan}'s table as the kernel holds it when learnt ({@link #learn}), else null. */
    TableBytes learnt(PlannedRules plan) {
        return rendered.of(plan).reference().get();
    }

    /**
     * Learns {@code plan}'s table as the kernel holds it ({@link TableBytes}): writes it into the
     * calling thread's namespace, which must be a fresh one netfence made and nothing else can
     * reach (then libnftables lists only what netfence wrote), verifies the JSON listing of its
     * three chains against the plan, and remembers the table's bytes for every later read-back of the
     * plan in any namespace. Also what the backend's probe does. Throws what failed: the
     * transaction's error, VERIFY_FAILED for a listing that differs.
     */
    TableBytes learn(Commands commands, PlannedRules plan) {
        RenderedPlans.Rendered text = rendered.of(plan);
        NftContext.Run applied = commands.apply(text.transaction());
        if (!applied.ok()) {
            throw NftErrors.classify("netfence's table", applied.errors());
        }
        NftRuleset listed = NftRuleset.EMPTY;
        for (String chain : NftRenderer.CHAINS) {
            listed = listed.plus(NftReadBack.listed(commands.listChain(NftRenderer.FAMILY, NftRenderer.TABLE, chain),
                    "netfence's " + chain + " chain"));
        }
        listed = listed.withTable(true);
        Optional<String> mismatch = verifier.mismatch(text.expected(), listed);
        if (mismatch.isPresent()) {
            throw new EnforcementException(ErrorCode.VERIFY_FAILED,
                    "nft read-back differs in a fresh namespace: " + mismatch.get());
        }
        TableBytes table = commands.table(text.expected().size());
        if (table == null) {
            throw new IllegalStateException("learning a plan's table needs the in-process backend");
        }
        TableBytes whole = table.requireWhole(text.expected().size());
        text.reference().set(whole);
        return whole;
    }

    /** How many read-backs were verified by their table's bytes ({@link TableBytes}); for tests. */
    long knownReadBacks() {
        return known.sum();
    }

    /** {@code before} when it equals {@code after} (nothing was committed around the read-back), else UNKNOWN. */
    private static long sameGeneration(long before, long after) {
        return before == after ? before : NftGeneration.UNKNOWN;
    }

    /** Removes netfence's table (switching to the iptables backend); the exception, or null. */
    EnforcementException deleteTable(Commands commands) {
        NftContext.Run deleted = commands.apply(renderer.deleteTable());
        return deleted.ok() ? null : NftErrors.classify("deleting netfence's table", deleted.errors());
    }

}
