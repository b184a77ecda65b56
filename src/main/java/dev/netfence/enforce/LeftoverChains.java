package dev.netfence.enforce;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.iptables.FilterState;
import dev.netfence.iptables.RestoreRenderer;
import dev.netfence.iptables.SaveParser;
import dev.netfence.netns.IptablesBackend;
import dev.netfence.netns.NamespaceFirewall;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.netns.ProcFile;
import dev.netfence.netns.ProcTasks;
import dev.netfence.policy.Family;
import dev.netfence.rules.Direction;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Removes the {@code NETFENCE-OUT}/{@code -IN}/{@code -FWD} chains and their hooks that an iptables
 * variant other than the one now writing left in a namespace: iptables-legacy's (x_tables, which
 * nftables cannot see) when the nft backends or iptables-nft write, iptables-nft's when
 * iptables-legacy writes. Such a set, left by netfence run with another {@code --backend}, an
 * {@code auto} that now finds libnftables, or a host whose iptables changed, keeps enforcing its
 * old plan beside the new one (a packet must pass both), so what the new plan allows stays
 * blocked under an {@code applied} outcome. The pipeline calls it at a namespace's first write in
 * this process. For legacy it first reads the namespace's {@code net/ip_tables_names} and
 * {@code net/ip6_tables_names} (through the pinned pid, confirmed in the namespace afterwards): a
 * namespace without a legacy {@code filter} table, the common case, costs two small reads and no
 * process. Otherwise the variant's {@code -save} is read and, where it shows netfence's chains or
 * hooks, one {@code -restore --noflush} per family deletes each hook ({@code -D}, as often as it
 * is there), then flushes and deletes the chains, leaving the rest of the table alone. Best
 * effort: what cannot be looked at or removed is logged and left ({@link #remove}), never failing
 * the apply; the namespace is then remembered so that every outcome for it carries
 * {@link #warning} until a later look goes through (review 197 M3), and its next write looks
 * again. Thread-safe.
 */
final class LeftoverChains {
    private static final Logger LOG = LoggerFactory.getLogger(LeftoverChains.class);
    private static final List<Family> FAMILIES = List.of(Family.IPV4, Family.IPV6);
    /** Far more than a table-name list ever holds (a handful of short names). */
    private static final int NAMES_LIMIT = 4096;

    private final NamespaceFirewall firewall;
    private final Path procRoot;
    private final WitnessedNamespaces written;
    /** The namespaces whose last look failed. */
    private final WitnessedNamespaces unclean;
    private final SaveParser parser = new SaveParser();

    /** {@code written}: the namespaces this process wrote (and looked at), the pipeline's. */
    LeftoverChains(NamespaceFirewall firewall, Path procRoot, WitnessedNamespaces written) {
        this.firewall = Objects.requireNonNull(firewall, "firewall");
        this.procRoot = Objects.requireNonNull(procRoot, "procRoot");
        this.written = Objects.requireNonNull(written, "written");
        this.unclean = new WitnessedNamespaces(procRoot);
    }

    /**
     * After an nft backend's write, its flush done: at the namespace's first in this process,
     * removes the chains iptables-legacy left ({@link #remove}), and remembers the namespace as
     * looked at once a look went through. {@code deadline}: the look's own (the caller leaves the
     * apply's rest its time, review 197 M1).
     */
    void afterNftWrite(PinnedNamespace ns, Deadline deadline, Duration commandTimeout) {
        if (!written.present(ns) && noted(ns, IptablesBackend.LEGACY, deadline, commandTimeout)) {
            written.remember(ns); // a look that failed (logged) is made again at the next write (review 197 M2)
        }
    }

    /**
     * After an iptables backend's write: at the namespace's first in this process ({@code first}),
     * or where the last look failed, removes the other variant's chains ({@link #remove}).
     */
    void afterIptablesWrite(PinnedNamespace ns, IptablesBackend writing, boolean first, Deadline deadline,
            Duration commandTimeout) {
        if (first || unclean.present(ns)) {
            noted(ns, writing == IptablesBackend.LEGACY ? IptablesBackend.NFT : IptablesBackend.LEGACY, deadline,
                    commandTimeout);
        }
    }

    /**
     * The outcome warning for namespace {@code id}, asked about through process {@code pid}, while
     * the last look there failed: the chains may be there; empty otherwise.
     */
    java.util.Optional<String> warning(dev.netfence.netns.NamespaceId id, int pid) {
        return unclean.present(id, pid) ? java.util.Optional.of(WARNING) : java.util.Optional.empty();
    }

    /** The outcome warning while an earlier backend's chains may be left beside the rules in force. */
    static final String WARNING = "firewall: the chains NETFENCE-OUT, NETFENCE-IN and NETFENCE-FWD that an earlier"
            + " backend (another iptables variant) may have left in the container's network namespace could not be"
            + " looked for or removed (netfence's log says why); where they are there they keep enforcing the plan they"
            + " were written for beside this one, so traffic this plan allows may stay refused; the next write there"
            + " looks again";

    /** {@link #look}, remembering the namespace for {@link #warning} while a look fails; true when it went through. */
    private boolean noted(PinnedNamespace ns, IptablesBackend variant, Deadline deadline, Duration commandTimeout) {
        if (look(ns, variant, deadline, commandTimeout).clean()) {
            unclean.forget(ns);
            return true;
        }
        unclean.remember(ns);
        return false;
    }

    /**
     * Removes from {@code ns}, both families, what {@code variant} left of netfence's; true when
     * anything was removed. Best effort, never failing the apply (review 196): a listing that
     * cannot be read or trusted (a save that fails, a rule of the workload's with a raw-string
     * extension, {@link SaveParser}), a removal the kernel refuses (something else still jumps to
     * a chain; iptables-nft-restore exits 4 then, which reads as lock contention) or chains still
     * there afterwards are logged as a warning naming the family and why, and the old chains stay
     * beside the new rules, as before netfence removed any: a packet must pass both, so they only
     * refuse more.
     */
    boolean remove(PinnedNamespace ns, IptablesBackend variant, Deadline deadline, Duration commandTimeout) {
        return look(ns, variant, deadline, commandTimeout).removed();
    }

    /** What a look did: removed anything; clean: nothing it found is left (no failure was logged). */
    record Look(boolean removed, boolean clean) {}

    /** {@link #remove}, telling also whether anything was left ({@link Look}). */
    Look look(PinnedNamespace ns, IptablesBackend variant, Deadline deadline, Duration commandTimeout) {
        boolean removed = false;
        boolean clean = true;
        for (Family family : FAMILIES) {
            if (variant == IptablesBackend.LEGACY && !mayHoldLegacyFilter(ns, family)) {
                continue;
            }
            try {
                removed |= removeFamily(ns, variant, family, deadline, commandTimeout);
            } catch (RuntimeException e) { // EnforcementException, or anything else: the look fails nothing
                clean = false;
                String code = e instanceof EnforcementException ee ? ee.code().code() : e.getClass().getSimpleName();
                LOG.warn("the {} {} chains NETFENCE-OUT, NETFENCE-IN and NETFENCE-FWD an earlier backend may have left in"
                        + " {} stay: {} {}; where they are there they keep enforcing the plan they were written for beside"
                        + " this one (a packet must pass both)", variant.wire(), family.wire(), ns, code,
                        e.getMessage());
            }
        }
        return new Look(removed, clean);
    }

    private boolean removeFamily(PinnedNamespace ns, IptablesBackend variant, Family family, Deadline deadline,
            Duration commandTimeout) {
        FilterState state = read(ns, variant, family, deadline, commandTimeout);
        String input = removal(state);
        if (input == null) {
            return false;
        }
        LOG.info("removing the {} {} chains an earlier backend left in {}", variant.wire(), family.wire(), ns);
        try {
            firewall.restore(ns, variant, family, input, deadline.cap(commandTimeout, "removing " + variant.wire()
                    + " " + family.wire() + " leftovers"));
        } catch (EnforcementException e) {
            if (e.code() != ErrorCode.RULES_REJECTED) {
                throw e;
            }
            throw new EnforcementException(ErrorCode.RULES_REJECTED, variant.wire() + " refused removing the "
                    + family.wire() + " chains NETFENCE-OUT, NETFENCE-IN and NETFENCE-FWD an earlier backend left:"
                    + " something netfence did not write still refers to them (a jump or goto from another chain"
                    + " or rule); the new rules were written, the old chains stay beside them; remove that"
                    + " reference, or the chains: " + e.getMessage(), e);
        }
        FilterState after = read(ns, variant, family, deadline, commandTimeout);
        if (removal(after) != null) {
            throw new EnforcementException(ErrorCode.VERIFY_FAILED, "the " + variant.wire() + " " + family.wire()
                    + " chains an earlier backend left are still there after removing them: " + after.ownedChains());
        }
        return true;
    }

    private FilterState read(PinnedNamespace ns, IptablesBackend variant, Family family, Deadline deadline,
            Duration commandTimeout) {
        String saved = firewall.save(ns, variant, family, deadline.cap(commandTimeout, "reading " + variant.wire()
                + " " + family.wire() + " leftovers"));
        FilterState state = parser.parse(saved);
        if (state.malformed() != null) {
            throw new EnforcementException(ErrorCode.VERIFY_FAILED, "the " + variant.wire() + " " + family.wire()
                    + " filter table cannot be read to look for chains an earlier backend left: " + state.malformed());
        }
        return state;
    }

    /**
     * The {@code -restore --noflush} input that removes netfence's chains and the hooks to them
     * from a filter table in {@code state}: each hook deleted as often as it is there, then each
     * owned chain flushed and deleted; null when there is none of either.
     */
    static String removal(FilterState state) {
        StringBuilder sb = new StringBuilder("*filter\n");
        boolean any = false;
        for (Direction direction : Direction.values()) {
            for (int i = 0; i < state.hookCount(direction); i++) {
                sb.append("-D ").append(RestoreRenderer.builtin(direction)).append(" -j ")
                        .append(RestoreRenderer.chain(direction)).append('\n');
                any = true;
            }
        }
        for (Direction direction : Direction.values()) {
            if (state.exists(direction)) {
                sb.append("-F ").append(RestoreRenderer.chain(direction)).append('\n');
                any = true;
            }
        }
        for (Direction direction : Direction.values()) {
            if (state.exists(direction)) {
                sb.append("-X ").append(RestoreRenderer.chain(direction)).append('\n');
            }
        }
        return any ? sb.append("COMMIT\n").toString() : null;
    }

    /**
     * Whether the namespace may hold an iptables-legacy {@code filter} table of {@code family}:
     * false when its pid's table-name list names no {@code filter} and the pid was in the pinned
     * namespace after the read (the file follows the pid's namespace; a list missing there means
     * x_tables is not loaded, so no legacy table exists), and false when the pid is gone (its
     * apply then reports CONTAINER_NOT_FOUND, not applied, and the next write looks again).
     * Anything else unreadable, or the pid in another namespace, is answered true: the save looks.
     */
    boolean mayHoldLegacyFilter(PinnedNamespace ns, Family family) {
        String names;
        try {
            names = ProcFile.read(ProcTasks.view(procRoot, ns.pid())
                    .resolve(family == Family.IPV4 ? "net/ip_tables_names" : "net/ip6_tables_names"), NAMES_LIMIT);
        } catch (NoSuchFileException e) {
            names = ""; // x_tables not loaded, or the pid is gone: which, the check below tells
        } catch (IOException | RuntimeException e) {
            return true;
        }
        try {
            if (!ProcTasks.namespaceOf(procRoot, ns.pid()).equals(ns.id())) {
                return true;
            }
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException | RuntimeException e) {
            return true;
        }
        return hasFilter(names);
    }

    /** Whether a {@code net/ip_tables_names} text lists {@code filter}. */
    static boolean hasFilter(String names) {
        return names.lines().anyMatch(line -> line.strip().equals("filter"));
    }
}
