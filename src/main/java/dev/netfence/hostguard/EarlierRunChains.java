package dev.netfence.hostguard;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Under {@code --host-guard off}, the chains an earlier run under {@code auto} or {@code required}
 * left in {@code table netdev netfence}, removed: such a chain stays bound to its interface's name,
 * and the kernel binds it to the next interface of that name (netavark reuses {@code veth0},
 * {@code veth1}...), where it drops what the new container's policy allows while its outcome says
 * {@code applied}. Nothing in the table is netfence's to keep under off, so the start's adoption and
 * every sweep run {@link GuardWrites#adopt} (the same listing and removal as a start under
 * {@code auto}) with no interface counted as present: every chain goes, in one transaction, named
 * in a WARN line; with none, nothing is written. A sweep first asks the kernel for the host's
 * nftables ruleset generation (one netlink exchange) and lists the table only when it moved since
 * the table was last found without a chain, so a chain an instance under {@code auto} writes later
 * (a rolling update's overlap) goes within one sweep at the cost of that exchange. A kernel that
 * answers no nftables request (no nfnetlink, errno 93; no nf_tables, errno 22 or 95) holds no table:
 * nothing to do, and nft is never run there. A listing or removal that fails is tried again at
 * once (a chain another writer removed between the listing and the removal fails the whole
 * transaction); one that fails again is kept as
 * {@link #notReadyReason} (served by {@code /readyz}), logged when it starts or changes and when it
 * ends, and retried at every sweep. Runs under GuardWrites' monitor (its caller's lock); the
 * reason is read from any thread.
 */
final class EarlierRunChains {
    private static final Logger LOG = LoggerFactory.getLogger(EarlierRunChains.class);
    private static final Pattern ERRNO = Pattern.compile("errno (\\d+)$");
    /** EINVAL, EPROTONOSUPPORT, EOPNOTSUPP: the kernel has no nfnetlink or no nf_tables subsystem. */
    private static final List<Integer> NO_NFTABLES = List.of(22, 93, 95);

    /** The host's nftables ruleset generation as the kernel answers it; -1 when it cannot be told. */
    @FunctionalInterface
    interface Generation {
        long read() throws IOException;
    }

    private final GuardWrites writes;
    private final Generation generation;
    /** The generation at which the table was last listed without a chain; -1 when not (yet) so. */
    private long cleanAt = -1;
    /** Why the last attempt failed, or null. */
    private volatile String failure;
    /** Whether the kernel's lack of nftables was logged already. */
    private boolean toldNone;

    EarlierRunChains(GuardWrites writes, Generation generation) {
        this.writes = Objects.requireNonNull(writes, "writes");
        this.generation = Objects.requireNonNull(generation, "generation");
    }

    /** Removes every chain of the table when the ruleset changed since it was last found without one; the number removed. */
    int remove() {
        long now;
        try {
            now = generation.read();
        } catch (IOException e) {
            if (noNftables(e.getMessage())) {
                if (!toldNone) {
                    LOG.info("host guard off: this kernel answers no nftables request ({}): no host table to clean",
                            e.getMessage());
                    toldNone = true;
                }
                succeeded();
                return 0;
            }
            now = -1; // unknown: list
        }
        if (now >= 0 && now == cleanAt) {
            succeeded(); // found empty at this generation, nothing committed since (review 210: a reason set while the
            return 0;    // generation could not be read stayed on a quiet host for good)
        }
        List<String> removed;
        try {
            removed = writes.adopt(Map::of, (chain, rules) -> { });
        } catch (RuntimeException first) {
            try { // listed again: a chain another writer removed meanwhile fails the whole removal (review 210)
                removed = writes.adopt(Map::of, (chain, rules) -> { });
            } catch (RuntimeException e) {
                failed(String.valueOf(e.getMessage()));
                return 0;
            }
        }
        // a commit after `now` was read moves the generation on, so the next sweep lists again
        cleanAt = removed.isEmpty() ? now : -1;
        if (!removed.isEmpty()) {
            LOG.warn("host guard off: removed the chains {} that a run under --host-guard auto or required left in"
                    + " table netdev netfence (on an interface of the same name they drop what its container's policy"
                    + " allows)", removed);
        }
        succeeded();
        return removed.size();
    }

    /** Why chains of an earlier run may still be in the table, when the last attempt failed. */
    Optional<String> notReadyReason() {
        String why = failure;
        return why == null ? Optional.empty() : Optional.of("--host-guard off, but table netdev netfence cannot be"
                + " cleared of the chains an earlier run under --host-guard auto or required left (" + why + "): on a"
                + " reused interface name they drop what a container's policy allows; retried at every sweep, or"
                + " remove them with 'nft delete table netdev netfence'");
    }

    /** Whether a generation request failed because the kernel has no nfnetlink or no nf_tables. */
    static boolean noNftables(String message) {
        Matcher m = ERRNO.matcher(message == null ? "" : message);
        return m.find() && NO_NFTABLES.contains(Integer.parseInt(m.group(1)));
    }

    private void failed(String why) {
        if (!why.equals(failure)) {
            LOG.warn("host guard off, but table netdev netfence cannot be cleared of an earlier run's chains ({});"
                    + " not ready until it is, retried at every sweep", why);
        }
        failure = why;
    }

    private void succeeded() {
        if (failure != null) {
            LOG.info("host guard off: table netdev netfence read and cleared again (it had failed: {})", failure);
            failure = null;
        }
    }
}
