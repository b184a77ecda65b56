package dev.netfence.nft;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.nft.NftApply.Commands;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.locks.LockSupport;

/**
 * The read-back half of an nft apply ({@link NftApply}): what netfence reads of a namespace after
 * writing it, or at a resync, never more than the plan's size of it and, in-process, never
 * through a libnftables listing ({@link #read}): a census first ({@link NftCensus}), then
 * netfence's table as the kernel's bytes ({@link TableBytes}) compared with the plan's as learnt;
 * through the {@code nft} program, the whole ruleset as JSON. Never logs, never writes.
 */
final class NftReadBack {
    /**
     * How many censuses showing netfence's table with fewer than its three chains make that a
     * difference: 8, over 127 ms of pauses. With 6 (31 ms) another writer's batch that the scheduler
     * preempted on a loaded machine outlasted them (a kernel test beside another writer, once in 23
     * full runs); a workload that keeps failing batches open costs its own read-backs that long.
     */
    static final int LOW_USE_ATTEMPTS = 8;
    /** How many censuses a commit may fall into before the read-back gives up (see {@link #read}). */
    static final int QUIET_ATTEMPTS = 4;

    private NftReadBack() {}

    /**
     * A read-back: the listing ({@code ruleset}), or, when the census or the table's bytes show
     * that netfence's table differs from the plan, that difference ({@code unread}) with nothing
     * listed. {@code known}: netfence's table's bytes are the plan's ({@link TableBytes}), and
     * {@code ruleset} holds the table's presence and the leftovers listed, no chain of netfence's.
     */
    record ReadBack(NftRuleset ruleset, String unread, boolean known, long generation) {
        ReadBack(NftRuleset ruleset, String unread) {
            this(ruleset, unread, false, NftGeneration.UNKNOWN);
        }

        ReadBack at(long generation) {
            return new ReadBack(ruleset, unread, known, generation);
        }
    }

    /**
     * Reads back what netfence checks, never more than the plan's size of it. With a census:
     * netfence's table is read only when the census shows it as netfence writes it (no flags, three
     * chains and nothing else, and, when counted, no set and at most {@code planRules} rules of at
     * most {@link NftCensus#ruleBytes} bytes), else that difference is the answer. It is read as
     * the kernel's netlink messages ({@link TableBytes}: its three chains and at most one rule more
     * than the plan) and compared byte for byte with {@code reference}, the plan's table as
     * learnt in a fresh namespace; libnftables never lists it, so nothing a workload puts in it is
     * printed in netfence's process (printing an interface index makes libnftables look links up
     * in the namespace, and a failure there ends the process). What the three chains do not show
     * (the table's flags, other chains, sets, objects) is known from the census's counts alone,
     * which a workload's batches that it lets fail can lower for a while. What a {@code filter}
     * table holds of the iptables backend's (its chains, the jumps to them from the chains it
     * writes in or jumps from) the census reads from the kernel's messages too
     * ({@link NftCensus.LeftoverTable#found}), when that table holds at most {@link NftCensus#LIMIT}
     * things and {@link NftCensus#BYTE_LIMIT} bytes, else that is the difference. {@code afterOwnWrite}: right after netfence's own transaction, when
     * netfence's table's sets and rules are not counted. A census showing netfence's table with
     * fewer than three chains is taken again (its rules counted), after 1, 2, 4, ... 64 ms, up to
     * {@link #LOW_USE_ATTEMPTS} times in all, and is a difference only when every one shows it so:
     * another transaction running in the namespace while the census dumps has already lowered the
     * use count of the table it replaces (the kernel counts at each message of a batch, before its
     * commit or abort), and that lasts while the batch does. The ruleset generation is read around
     * the census and again after the table is read: a commit in between (the census and the bytes
     * may then show two states) counts as a round the namespace was committed to, up to
     * {@link #QUIET_ATTEMPTS}; a verified read-back carries the generation it belongs to. Without a
     * census, the whole ruleset.
     */
    static ReadBack read(Commands commands, RenderedPlans.Rendered text, TableBytes reference,
            boolean afterOwnWrite, long before) {
        int planRules = text.expected().size();
        long from = before;
        for (int round = 1; ; round++) {
            NftCensus.Counts census = commands.census(afterOwnWrite ? -1 : planRules);
            for (int i = 1; i < LOW_USE_ATTEMPTS && census != null && census.table() && census.tableUse() < NftRenderer.CHAINS.size(); i++) {
                pause(1_000_000L << (i - 1)); // past the other batch, which lasts a millisecond or so
                census = commands.census(planRules); // its rules counted too: the table is listed after it
            }
            if (census == null) {
                return new ReadBack(parse(commands.listJson(), "the ruleset"), null).at(from); // whole: from..end
            }
            // A namespace committed to each time it was counted (a workload committing without pause)
            // is not read: its reads would be interrupted and taken again, and a verified read-back
            // there would not belong to one generation anyway.
            long counted = commands.generation();
            if (from == NftGeneration.UNKNOWN || counted == NftGeneration.UNKNOWN || counted == from) {
                ReadBack read = readCounted(commands, text, reference, census, planRules);
                long after = commands.generation();
                if (read.unread() != null || after == NftGeneration.UNKNOWN || after == counted) {
                    return read.at(from == NftGeneration.UNKNOWN ? NftGeneration.UNKNOWN : after);
                }
                counted = after; // committed to while the table was read: the census and the bytes may be two states
            }
            if (round == QUIET_ATTEMPTS) {
                return new ReadBack(null, "the namespace's ruleset changed each time netfence counted it ("
                        + QUIET_ATTEMPTS + " times, generation " + before + " -> " + counted
                        + "; commits beside the read-back)");
            }
            pause(1_000_000L << (round - 1));
            from = commands.generation(); // after the pause: the next census's own window, not the pause's
        }
    }

    /** The read-back of what a census taken in a quiet window allows (see {@link #read}). */
    private static ReadBack readCounted(Commands commands, RenderedPlans.Rendered text, TableBytes reference,
            NftCensus.Counts census, int planRules) {
        String unread = unread(census, planRules);
        if (unread != null) {
            return new ReadBack(null, unread + " (not listed)");
        }
        NftRuleset ruleset = NftRuleset.EMPTY;
        boolean known = false;
        if (census.table()) {
            // never listed: read as bytes and compared with the plan's as learnt in a fresh namespace
            if (reference == null) {
                throw new EnforcementException(ErrorCode.VERIFY_FAILED, "the plan's table is not learnt yet (netfence"
                        + " lists no workload namespace's table), to be learnt at the next attempt");
            }
            TableBytes table = commands.table(planRules);
            Optional<String> difference = table.firstDifference(reference, text.expected());
            if (difference.isPresent()) {
                return new ReadBack(null, difference.get() + " (read as bytes, not listed)");
            }
            ruleset = NftRuleset.EMPTY.withTable(true);
            known = true;
        }
        for (NftCensus.LeftoverTable t : census.leftovers()) { // read by the census from the kernel's messages
            ruleset = ruleset.plus(new NftRuleset(false, List.of(), List.of(), t.found()));
        }
        return new ReadBack(ruleset, null, known, NftGeneration.UNKNOWN);
    }

    /** Waits {@code nanos} on this (namespace) thread, however often the park returns early. */
    private static void pause(long nanos) {
        long until = System.nanoTime() + nanos;
        for (long left = nanos; left > 0; left = until - System.nanoTime()) {
            LockSupport.parkNanos(left);
        }
    }

    /** What the census alone shows to differ from what netfence writes, or null. */
    private static String unread(NftCensus.Counts census, int planRules) {
        if (census.table() && census.tableFlags() != 0) {
            return "netfence's table has flags " + census.tableFlags()
                    + " where netfence writes none (a dormant table's rules do not run)";
        }
        if (census.table() && (census.tableUse() != NftRenderer.CHAINS.size() || census.tableSets() > 0)) {
            return "netfence's table holds " + census.tableUse() + " chains, sets or objects"
                    + (census.tableSets() > 0 ? " and " + census.tableSets() + " sets" : "")
                    + " where netfence writes " + NftRenderer.CHAINS.size() + " chains and no set";
        }
        if (census.table() && census.tableRules() > planRules) {
            return "netfence's table holds more than the plan's " + planRules + " rules";
        }
        if (census.table() && census.tableRuleBytes() > NftCensus.ruleBytes(planRules)) {
            return "netfence's table's rules take " + census.tableRuleBytes()
                    + " bytes, more than netfence's " + planRules + " rules do";
        }
        for (NftCensus.LeftoverTable t : census.leftovers()) {
            if (t.tooLarge()) {
                return "table " + t.family() + " filter holds the iptables backend's chains and more than "
                        + NftCensus.LIMIT + " rules, sets, set elements, chains and objects or "
                        + NftCensus.BYTE_LIMIT + " bytes of them";
            }
        }
        return null;
    }

    /** A listing; a refusal because the table or chain is gone (deleted since the census) lists nothing. */
    static NftRuleset listed(NftContext.Run run, String what) {
        return !run.ok() && missing(run) ? NftRuleset.EMPTY : parse(run, what);
    }

    private static boolean missing(NftContext.Run listed) {
        return listed.errors().contains("No such file or directory");
    }

    static NftRuleset parse(NftContext.Run listed, String what) {
        if (!listed.ok()) {
            throw NftErrors.classify("listing " + what, listed.errors());
        }
        try {
            return NftRuleset.parse(listed.output());
        } catch (IllegalArgumentException e) {
            throw new EnforcementException(ErrorCode.VERIFY_FAILED, "unreadable nft listing: " + e.getMessage());
        }
    }
}
