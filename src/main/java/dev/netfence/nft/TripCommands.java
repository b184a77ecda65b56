package dev.netfence.nft;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The commands of one in-process trip ({@link InProcessNft}), run on the namespace thread while
 * it is away. {@code wrote} is set as soon as a transaction commits, so that a caller that gave up
 * on the trip ({@link NamespaceThreads}) knows the rules may have changed. The census's and the
 * table read's sockets are closed through {@code later}. {@code fresh}: the trip is in a fresh
 * namespace netfence made, the only place libnftables lists anything (beside other calls there,
 * {@link NftContext#runOwnListing}); elsewhere a listing is refused (an IllegalStateException,
 * INTERNAL_ERROR at the trip's end): a workload's namespace is read over raw netlink only
 * ({@link TableBytes}, {@link NftCensus}). {@code readBack} and {@code listed} count what was read
 * back (listed characters and table bytes) and what libnftables listed.
 */
final class TripCommands implements NftApply.Commands {
    private final NftContext ctx;
    private final NftGeneration generation;
    private final AtomicBoolean wrote;
    private final Closer later;
    private final boolean fresh;
    private final AtomicLong readBack;
    private final AtomicLong listed;

    TripCommands(NftContext ctx, NftGeneration generation, AtomicBoolean wrote, Closer later, boolean fresh,
            AtomicLong readBack, AtomicLong listed) {
        this.ctx = ctx;
        this.generation = generation;
        this.wrote = wrote;
        this.later = later;
        this.fresh = fresh;
        this.readBack = readBack;
        this.listed = listed;
    }

    @Override
    public long generation() {
        return generation.read();
    }

    /**
     * Runs {@code script}; in a namespace netfence did not make, only when libnftables' cache
     * fetch for it is bounded ({@link NftCensus#tooMuchToLoad}), else a failed run saying why
     * (RULES_REJECTED), nothing sent.
     */
    @Override
    public NftContext.Run apply(String script) {
        if (!fresh) {
            String heavy = NftCensus.tooMuchToLoad(later);
            if (heavy != null) {
                return new NftContext.Run(-1, "", heavy);
            }
        }
        ctx.plain();
        NftContext.Run run = ctx.run(script);
        if (run.ok()) {
            wrote.set(true);
        }
        return run;
    }

    @Override
    public NftContext.Run listJson() {
        return listed("list ruleset");
    }

    @Override
    public NftContext.Run listChain(String family, String table, String chain) {
        return listed("list chain " + family + ' ' + table + ' ' + chain);
    }

    private NftContext.Run listed(String command) {
        if (!fresh) {
            throw new IllegalStateException("netfence has libnftables list nothing in a namespace it did not make: "
                    + command);
        }
        NftContext.Run run = ctx.json().runOwnListing(command);
        readBack.addAndGet(run.output().length());
        listed.addAndGet(run.output().length());
        return run;
    }

    @Override
    public NftCensus.Counts census(int planRules) {
        return NftCensus.take(planRules, later);
    }

    @Override
    public TableBytes table(int planRules) {
        TableBytes table = TableBytes.take(planRules, later);
        readBack.addAndGet(table.size());
        return table;
    }
}
