package dev.netfence.nft;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.netns.OwnNamespace;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.rules.PlannedRules;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code nft} backend: netfence's table written into a pinned namespace by libnftables,
 * in-process, on {@link NamespaceThreads}. One trip per apply does everything inside the
 * namespace: a fresh libnftables context (its netlink socket opens in the namespace), the
 * table transaction, the read-back of what {@link NftCensus} counted first (netfence's table as
 * the kernel's netlink messages, compared byte for byte with the plan's table as learnt once per
 * plan in a fresh namespace no workload can reach ({@link TableBytes}), never listed by
 * libnftables, never more than the plan's size of it; leftover tables of the iptables backend
 * as JSON), the removal of the iptables backend's leftovers when
 * there are any, and the verification ({@link NftApply}), then, when asked and only after the
 * table verified, the connection-tracking flush ({@link ConntrackFlush}, over the trip's generation socket); the context is freed
 * and the trip's sockets closed by {@link DeferredCloses} once the namespace is quiet, off the
 * namespace thread (a close soon after a commit sleeps for an RCU grace period, holding the
 * namespace's commit mutex). No process is started. The outcome is reported by the caller, at
 * home. A verifying read-back is remembered with the namespace's nftables ruleset generation
 * ({@link NftGeneration}, read just before and after it), so the reconciler's {@link #drift} of a
 * namespace whose ruleset has not changed since costs one netlink request instead of a context
 * and a read-back ({@link VerifiedGenerations}). That request needs no trip either: the netlink
 * socket a trip opened inside the namespace is kept, still bound to that namespace, and asked
 * from the caller's own thread ({@link GenerationSockets}, {@link #unchanged}) until the
 * namespace is {@link #forget forgotten}. Failures: see {@link NftErrors} for libnftables' errors, VERIFY_FAILED (retryable) for a
 * read-back that differs, FIREWALL_UNAVAILABLE when the flush is refused.
 */
public final class InProcessNft implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(InProcessNft.class);
    /**
     * What one apply did, for the caller's bookkeeping and logs.
     *
     * @param conntrackFlushErrno 0 when the flush succeeded or was not asked for, else the errno
     */
    public record Applied(boolean removedIptablesChains, int conntrackFlushErrno) {}

    private final NativeCalls natives;
    private final OwnNamespace home;
    private final NamespaceThreads threads;
    private final NftApply steps = new NftApply(new NftRenderer());
    private final VerifiedGenerations verified = new VerifiedGenerations();
    private final GenerationSockets sockets;
    private final DeferredCloses closes;
    private final ContextSockets contextSockets;
    /** How long a writing caller may spend closing its namespace's parked sockets ({@link DeferredCloses#settle}). */
    private static final java.time.Duration SETTLE_BUDGET = java.time.Duration.ofMillis(50);
    private final java.util.concurrent.atomic.AtomicLong fullReadBacks = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong skippedReadBacks = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong readBack = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong listed = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong learnt = new java.util.concurrent.atomic.AtomicLong();

    private InProcessNft(NativeCalls natives, OwnNamespace home, int threads) {
        this.natives = natives;
        this.home = home;
        this.threads = new NamespaceThreads(natives, home, threads);
        this.sockets = new GenerationSockets(natives.libc);
        this.contextSockets = new ContextSockets(natives.libc);
        // contexts parked whole hold numbers below 1024: then few may wait (DeferredCloses)
        boolean trusted = contextSockets.trusted(natives.nftables);
        if (!trusted) {
            LOG.warn("libnftables' context does not have the layout netfence checks for: its netlink socket stays"
                    + " unconnected (a workload holding CAP_NET_ADMIN could send it replies of its own), and contexts"
                    + " are freed whole later, at most 32 per namespace");
        }
        this.closes = trusted ? new DeferredCloses(threads) : new DeferredCloses(threads, DeferredCloses.QUIET, 32, 64);
    }

    private static InProcessNft shared;

    /**
     * The process's one in-process backend ({@link #start} with {@code /proc} and
     * {@code threads}, the first time it is asked for; every later call gets the same instance,
     * whatever {@code threads} says): namespace threads and the held home namespace belong to the
     * process, not to one enforcer. Never closed; its threads are daemons. Throws like
     * {@link #start}, and a failed start is not remembered.
     */
    public static synchronized InProcessNft shared(int threads) throws IOException {
        if (shared == null) {
            shared = start(Path.of("/proc"), threads);
        }
        return shared;
    }

    /**
     * Loads libnftables and starts {@code threads} namespace threads; {@link LinkageError} when
     * the library (or JNA's native part) cannot be loaded, {@link IOException} when netfence's own
     * namespace cannot be held.
     */
    public static InProcessNft start(Path procRoot, int threads) throws IOException {
        NativeCalls natives = NativeCalls.load();
        OwnNamespace home = OwnNamespace.hold(procRoot);
        try {
            return new InProcessNft(natives, home, threads);
        } catch (RuntimeException e) {
            home.close();
            throw e;
        }
    }

    /**
     * Whether the kernel accepts an nft transaction: netfence's quarantine table applied, read back
     * and verified in a new, empty namespace that vanishes afterwards. Throws the failure.
     */
    public void probe(PlannedRules sample, Instant deadline) {
        learn(sample, deadline);
    }

    /**
     * Learns {@code plan}'s table as the kernel holds it ({@link NftApply#learn}) in a fresh
     * namespace no workload can reach, once per plan (remembered with its rendering): every
     * read-back of the plan in a workload's namespace is then compared with it byte for byte, and
     * libnftables never lists a workload's namespace (see {@link TableBytes}). Throws what failed.
     */
    private TableBytes learn(PlannedRules plan, Instant deadline) {
        TableBytes known = steps.learnt(plan);
        if (known != null) {
            return known;
        }
        java.util.concurrent.locks.ReentrantLock learning = steps.learning(plan);
        try { // one learn per plan at a time: a rollout's containers wait for the first, up to their deadline
            if (!learning.tryLock(Math.max(0, java.time.Duration.between(dev.netfence.core.SteadyClock.system().instant(), deadline).toNanos()),
                    java.util.concurrent.TimeUnit.NANOSECONDS)) {
                throw new EnforcementException(ErrorCode.TIMEOUT, "another apply was still learning this plan's table"
                        + " (in a fresh namespace) at the deadline");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EnforcementException(ErrorCode.TIMEOUT, "interrupted while another apply learnt this plan's table");
        }
        try {
            known = steps.learnt(plan);
            if (known != null) {
                return known;
            }
            TableBytes table = threads.runInFreshNamespace(deadline, n -> {
                try (DeferredCloses.Batch later = closes.batch(new Object());
                        NftContext ctx = new NftContext(n.nftables, contextSockets, later);
                        NftGeneration generation = new NftGeneration(n.libc, later)) {
                    return steps.learn(commands(ctx, generation, new AtomicBoolean(), later, true), plan);
                }
            });
            learnt.incrementAndGet();
            return table;
        } finally {
            learning.unlock();
        }
    }

    /** Plans learnt so far ({@link #learn}). */
    public long learntPlans() {
        return learnt.get();
    }

    /**
     * Replaces netfence's table in {@code ns} with {@code plan} and verifies it; then flushes the
     * namespace's connection tracking when {@code flushConntrack}, over the netlink socket the
     * trip read the generation with, and forgets the routes it learned ({@link ConntrackFlush}:
     * cached IPv4 routes, what IPv6 advertisements and redirects taught) (a failed flush is reported in
     * the result, not thrown: the caller decides whether it fails the apply). Sets {@code changed} when
     * the rules in the namespace changed, even if the apply then failed: as soon as the transaction
     * commits, so also when the trip is abandoned past {@code deadline} ({@link NamespaceThreads})
     * after its commit (a commit after the deadline, by an abandoned trip, comes too late for the
     * caller to see).
     */
    public Applied apply(PinnedNamespace ns, PlannedRules plan, boolean flushConntrack, Instant deadline,
            AtomicBoolean changed) {
        return apply(ns, plan, flushConntrack, deadline, changed, () -> { });
    }

    /**
     * As {@link #apply(PinnedNamespace, PlannedRules, boolean, Instant, AtomicBoolean)}, running
     * {@code meanwhile} on the calling thread while the trip runs ({@link NamespaceThreads}).
     */
    public Applied apply(PinnedNamespace ns, PlannedRules plan, boolean flushConntrack, Instant deadline,
            AtomicBoolean changed, Runnable meanwhile) {
        Objects.requireNonNull(plan, "plan");
        TableBytes table = learn(plan, deadline);
        verified.forget(ns.id());
        closes.settle(ns.id(), SETTLE_BUDGET);
        Trip trip = threads.run(ns.descriptor(), ns.path(), ns.id(), deadline, n -> {
            NftApply.Result result;
            int flush = 0;
            try (DeferredCloses.Batch later = closes.batch(ns.id()); NftContext ctx = new NftContext(n.nftables, contextSockets, later);
                    NftGeneration generation = new NftGeneration(n.libc, later)) {
                result = steps.apply(commands(ctx, generation, changed, later, false), plan, table);
                if (result.error() == null && flushConntrack) {
                    flush = generation.flushConntrack(); // over the socket that read the generation: no second one
                }
                // not one whose flush failed (what it holds is unknown), nor for a caller gone (abandoned)
                if (flush == 0 && threads.leaving()) {
                    sockets.keep(ns.id(), generation, later);
                }
            }
            return new Trip(result, flush);
        }, meanwhile);
        if (trip.result().changed()) {
            changed.set(true);
        }
        if (trip.result().error() != null) {
            throw trip.result().error();
        }
        verified.verified(ns.id(), plan, trip.result().generation(), System.nanoTime());
        return new Applied(trip.result().removedIptablesChains(), trip.flushErrno());
    }

    /**
     * What netfence's table in {@code ns} differs in from {@code plan}, or empty; writes nothing (the
     * reconciler's read-back). First the namespace's ruleset generation is read (one netlink
     * request, no libnftables context): when it is still the one at which this table was last read
     * back equal to this plan, nothing in the namespace's ruleset has changed since and the answer
     * is empty without a read-back ({@link VerifiedGenerations}); otherwise the table is read back
     * in full and compared, and an equal read-back is remembered with its generation.
     */
    public java.util.Optional<String> drift(PinnedNamespace ns, PlannedRules plan, Instant deadline) {
        Objects.requireNonNull(plan, "plan");
        if (unchanged(ns.id(), plan)) {
            return java.util.Optional.empty();
        }
        TableBytes table = learn(plan, deadline);
        DriftTrip trip = threads.run(ns.descriptor(), ns.path(), ns.id(), deadline, n -> {
            try (DeferredCloses.Batch later = closes.batch(ns.id()); NftGeneration generation = new NftGeneration(n.libc, later)) {
                DriftTrip result;
                if (verified.unchanged(ns.id(), plan, generation.read(), System.nanoTime())) {
                    result = DriftTrip.UNCHANGED;
                } else {
                    try (NftContext ctx = new NftContext(n.nftables, contextSockets, later)) {
                        result = new DriftTrip(steps.drift(commands(ctx, generation, new AtomicBoolean(), later, false), plan, table), null);
                    }
                }
                if (threads.leaving()) { // not for a caller gone (abandoned): the container may be too
                    sockets.keep(ns.id(), generation, later); // opened in here: from now on asked from home
                }
                return result;
            } catch (EnforcementException e) {
                return new DriftTrip(null, e);
            }
        });
        if (trip.error() != null) {
            verified.forget(ns.id());
            throw trip.error();
        }
        if (trip == DriftTrip.UNCHANGED) {
            skippedReadBacks.incrementAndGet();
            return java.util.Optional.empty();
        }
        fullReadBacks.incrementAndGet();
        verified.verified(ns.id(), plan, trip.drift().generation(), System.nanoTime());
        return trip.drift().difference();
    }

    /**
     * Whether netfence's table in namespace {@code ns} is still the one last read back equal to
     * {@code plan}, asked without entering the namespace: the namespace's ruleset generation is
     * read through the socket kept from an earlier trip into it ({@link GenerationSockets}) and
     * compared with the verified one ({@link VerifiedGenerations}). False when no socket is kept,
     * the generation cannot be read or moved, the plan differs, or the last full read-back is too
     * old; then {@link #drift} reads back in full. Counted as a skipped read-back when true.
     */
    public boolean unchanged(dev.netfence.netns.NamespaceId ns, PlannedRules plan) {
        if (!verified.unchanged(ns, plan, sockets.read(ns), System.nanoTime())) {
            return false;
        }
        skippedReadBacks.incrementAndGet();
        return true;
    }

    /**
     * Forgets the verified generation of {@code ns} (its container was released), so that a later
     * namespace with the same inode is always read back in full.
     */
    public void forget(dev.netfence.netns.NamespaceId ns) {
        verified.forget(ns);
        sockets.forget(ns);
    }

    /** Namespaces whose generation socket is kept (for tests). */
    int keptSockets() {
        return sockets.size();
    }

    /** Read-backs {@link #drift} made in full so far. */
    public long fullReadBacks() {
        return fullReadBacks.get();
    }

    /** Read-backs {@link #drift} skipped so far because the namespace's ruleset generation had not changed. */
    public long skippedReadBacks() {
        return skippedReadBacks.get();
    }

    /**
     * What was read back so far (applies, plans learnt and drift checks): characters of JSON
     * listings plus bytes of netfence's table read over netlink; what read-backs cost in size.
     */
    public long readBackSize() {
        return readBack.get();
    }

    /**
     * Characters of JSON that libnftables listed so far: in the fresh namespaces plans are learnt
     * in, and from the iptables backend's leftover tables; never netfence's table in a workload's
     * namespace ({@link TableBytes}).
     */
    public long listedChars() {
        return listed.get();
    }

    /** Read-backs verified by their table's bytes so far ({@link TableBytes}): for tests. */
    long knownReadBacks() {
        return steps.knownReadBacks();
    }

    private record DriftTrip(NftApply.Drift drift, EnforcementException error) {
        static final DriftTrip UNCHANGED = new DriftTrip(new NftApply.Drift(java.util.Optional.empty(),
                NftGeneration.UNKNOWN), null);
    }

    /** Removes netfence's table from {@code ns} (idempotent), e.g. when the namespace moves to the iptables backend. */
    public void deleteTable(PinnedNamespace ns, Instant deadline) {
        verified.forget(ns.id());
        closes.settle(ns.id(), SETTLE_BUDGET);
        EnforcementException error = threads.run(ns.descriptor(), ns.path(), ns.id(), deadline, n -> {
            try (DeferredCloses.Batch later = closes.batch(ns.id()); NftContext ctx = new NftContext(n.nftables, contextSockets, later);
                    NftGeneration generation = new NftGeneration(n.libc, later)) {
                return steps.deleteTable(commands(ctx, generation, new AtomicBoolean(), later, false));
            }
        });
        if (error != null) {
            throw error;
        }
    }

    /**
     * Flushes the connection tracking of {@code ns} and forgets the routes it learned
     * ({@link ConntrackFlush}); FIREWALL_UNAVAILABLE on failure.
     */
    public void flushConntrack(PinnedNamespace ns, Instant deadline) {
        int errno = threads.run(ns.descriptor(), ns.path(), ns.id(), deadline, n -> ConntrackFlush.flush(n));
        if (errno != 0) {
            throw new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE,
                    "flushing connection tracking and learnt IPv6 routes in " + ns + " failed: errno " + errno);
        }
    }

    /** Namespace threads discarded so far because they could not prove they were home. */
    public long replacedThreads() {
        return threads.replaced();
    }

    /** How many trips were abandoned past their deadline and are still running ({@link NamespaceThreads}). */
    public int abandonedTrips() {
        return threads.abandoned();
    }

    @Override
    public void close() throws IOException {
        threads.close();
        closes.close();
        sockets.closeAll();
        home.close();
    }

    /** The commands of one trip ({@link TripCommands}); {@code fresh}: in a fresh namespace netfence made. */
    private NftApply.Commands commands(NftContext ctx, NftGeneration generation, AtomicBoolean wrote, Closer later,
            boolean fresh) {
        return new TripCommands(ctx, generation, wrote, later, fresh, readBack, listed);
    }

    private record Trip(NftApply.Result result, int flushErrno) {}
}
