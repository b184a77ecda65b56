package dev.netfence.enforce;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.iptables.FilterState;
import dev.netfence.iptables.RestoreRenderer;
import dev.netfence.iptables.RuleVerifier;
import dev.netfence.iptables.SaveParser;
import dev.netfence.netns.ConntrackFlusher;
import dev.netfence.netns.EndpointResolver;
import dev.netfence.netns.IptablesBackend;
import dev.netfence.netns.NamespaceFirewall;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.policy.Endpoint;
import dev.netfence.policy.Family;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.rules.PlannedRules;
import dev.netfence.rules.RulePlanner;
import dev.netfence.rules.RuleSet;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The steps of one apply attempt, each a plain method so the enforcer can compose them with
 * retries: resolve hostnames, plan, and write a plan into a
 * pinned namespace with the chosen {@link FirewallBackend}. The nft backends write one
 * transaction that replaces netfence's table, read it back as JSON and verify it, remove the
 * iptables backend's chains when the read-back shows any, and flush the connection tracking (in
 * process: all of it in one trip of a namespace thread, no process started; see
 * {@code nft.InProcessNft}). The iptables backends, below, also remove the nft backend's table
 * from a namespace they write for the first time (a namespace that switched backend); every
 * backend then removes the chains another iptables variant left there ({@link LeftoverChains}). With
 * iptables, writing runs two commands per family in the common case: one restore (one
 * transaction) and one read-back, which is verified; then one flush of the namespace's
 * connection tracking, so no flow opened before outlives the new rules (in-process too where it
 * can run, {@link ConntrackFlushChoice}: no process for it). The table is not read before the restore:
 * the hooks are inserted for a namespace not known to be hooked (a fresh container has none) and
 * left alone for one whose last apply was verified with them in place ({@link WitnessedNamespaces}).
 * That guess may be wrong (netfence restarted, someone deleted, duplicated or pushed down a hook),
 * and it is safe because nothing is reported from the guess: the read-back shows the real table,
 * a hook that is missing, duplicated or not first is repaired against that very read-back (one
 * more restore and read-back), and only a table that verifies counts as applied; anything else is
 * VERIFY_FAILED. Meanwhile a wrong guess leaves at worst a second jump to the same chain (the
 * same verdicts) or the hook as missing as it already was. The owned chains themselves are
 * rewritten whole by every restore, so the guess never concerns them. It holds no per-request
 * state, so one instance serves all threads.
 */
final class ApplyPipeline {
    private static final Logger LOG = LoggerFactory.getLogger(ApplyPipeline.class);
    private static final List<Family> FAMILIES = List.of(Family.IPV4, Family.IPV6);

    private final NamespaceFirewall firewall;
    private final ConntrackFlusher flusher;
    private final BackendSelector selector;
    private final EndpointResolver resolver;
    private final RulePlanner planner = new RulePlanner();
    private final PlanCache cache = new PlanCache();
    private final RestoreRenderer renderer = new RestoreRenderer();
    private final SaveParser parser = new SaveParser();
    private final RuleVerifier verifier = new RuleVerifier();
    private final EnforcerConfig config;
    private final WitnessedNamespaces hooks;
    private final LeftoverChains leftovers;
    private final NamespaceLocks locks = new NamespaceLocks();
    private final boolean flush;

    /** {@code flush} false: no connection-tracking flush at all (the benchmark's without-variant only). */
    ApplyPipeline(NamespaceFirewall firewall, ConntrackFlusher flusher, BackendSelector selector,
            EndpointResolver resolver, EnforcerConfig config, boolean flush) {
        this.flush = flush;
        this.firewall = Objects.requireNonNull(firewall, "firewall");
        this.flusher = Objects.requireNonNull(flusher, "flusher");
        this.selector = Objects.requireNonNull(selector, "selector");
        this.resolver = Objects.requireNonNull(resolver, "resolver");
        this.config = Objects.requireNonNull(config, "config");
        this.hooks = new WitnessedNamespaces(config.procRoot());
        this.leftovers = new LeftoverChains(firewall, config.procRoot(), hooks);
    }

    /**
     * Every hostname endpoint of the policy, resolved (A and AAAA); RESOLUTION_FAILED on any failure,
     * and when the answers bring more addresses than {@link ResolvedAddressBound} allows a policy.
     */
    Map<String, List<InetAddress>> resolveHostnames(NetworkPolicy policy, Deadline deadline) {
        return resolveHostnames(policy, deadline, Map.of(), false, new java.util.ArrayList<>());
    }

    /**
     * As {@link #resolveHostnames(NetworkPolicy, Deadline)}, for a reconciliation whose rules were
     * last verified with the answers {@code last}: where it is not empty, the lookups may use only
     * half the time left (the rest is the read-back's), and with {@code keep} a name that does not
     * resolve keeps its answers there, and answers over the bound keep every name's, each such
     * case adding a warning to {@code warnings} ({@link KeptAnswers}); where {@code last} has none,
     * RESOLUTION_FAILED as before.
     */
    Map<String, List<InetAddress>> resolveHostnames(NetworkPolicy policy, Deadline deadline,
            Map<String, List<String>> last, boolean keep, List<String> warnings) {
        Map<String, List<InetAddress>> resolved = new LinkedHashMap<>();
        List<String> stale = new java.util.ArrayList<>();
        // lookups may use half the time left, the read-back the rest: hanging zones would use the deadline up first
        Deadline lookups = last.isEmpty() ? deadline : deadline.halfway();
        for (Endpoint endpoint : policy.allowedEndpoints()) {
            if (endpoint.isHostname() && !resolved.containsKey(endpoint.host())) {
                try {
                    var timeout = lookups.cap(config.resolveTimeout(), "resolving " + endpoint.host());
                    resolved.put(endpoint.host(), resolver.resolve(endpoint.host(), timeout));
                } catch (EnforcementException e) {
                    List<InetAddress> kept = keep ? KeptAnswers.forName(last, endpoint.host(), e, lookups) : null;
                    if (kept == null) {
                        throw lookups != deadline && e.code() == ErrorCode.TIMEOUT && !deadline.passed()
                                ? new EnforcementException(ErrorCode.RESOLUTION_FAILED, "no time was left to resolve "
                                        + endpoint.host() + " before the read-back", e) : e;
                    }
                    LOG.warn("{} ({}); the {} address(es) its rules were last verified with are kept", endpoint.host(),
                            e.getMessage(), kept.size());
                    resolved.put(endpoint.host(), kept);
                    stale.add(KeptAnswers.warning(endpoint.host(), kept.size()));
                }
            }
        }
        try {
            ResolvedAddressBound.check(policy, resolved); // before anything is planned from the answers
        } catch (EnforcementException e) {
            Map<String, List<InetAddress>> kept = keep ? KeptAnswers.forAll(policy, last, e, lookups) : null;
            if (kept == null) {
                throw e;
            }
            ResolvedAddressBound.check(policy, kept); // answers of another policy's ports may be over it too
            LOG.warn("{}; the addresses the rules were last verified with are kept", e.getMessage());
            warnings.add(KeptAnswers.OVER_BOUND);
            return kept;
        }
        warnings.addAll(stale);
        return resolved;
    }

    /**
     * The plan of {@code policy} with its hostnames resolved to {@code resolved}; DNS goes only
     * to the trusted resolvers (the policy's and the node's {@code --dns-servers}), nothing the
     * container could write is read.
     */
    PlannedRules plan(NetworkPolicy policy, Map<String, List<InetAddress>> resolved) {
        List<InetAddress> node = config.dnsServers();
        return cache.plan(policy, resolved, node, () -> planner.plan(policy, resolved, node));
    }

    /** The policy's digest, remembered for policies seen recently. */
    String digest(NetworkPolicy policy) {
        return cache.digest(policy);
    }

    /**
     * The outcome warning for namespace {@code id} (asked through {@code pid}) while chains an
     * earlier backend left may be there beside netfence's ({@link LeftoverChains#warning}).
     */
    Optional<String> leftoverWarning(dev.netfence.netns.NamespaceId id, int pid) {
        return leftovers.warning(id, pid);
    }

    PlannedRules quarantinePlan() {
        return planner.quarantine();
    }

    /**
     * Writes {@code plan} into the namespace, IPv4 then IPv6, then reads both back and verifies
     * them, repairing the hooks once where needed (see the class comment). Sets {@code touched}
     * as soon as one family's restore succeeded, so the caller knows a later failure left the
     * namespace half-changed. Writes into one namespace take turns ({@link NamespaceLocks});
     * {@code first} runs in the turn before anything is written (it may refuse by throwing);
     * {@code meanwhile} in the turn too, while a namespace thread writes (in-process nft), else
     * after the write; what it throws fails the write once the rules are written.
     */
    void write(PinnedNamespace ns, FirewallBackend backend, PlannedRules plan, Deadline deadline, AtomicBoolean touched,
            Runnable first, Runnable meanwhile) {
        try (NamespaceLocks.Held held = locks.lock(ns.id(), deadline)) {
            first.run();
            if (backend.isNft()) {
                writeNft(ns, backend, plan, deadline, touched, true, meanwhile);
                leftovers.afterNftWrite(ns, deadline.halfway(), config.commandTimeout());
            } else {
                boolean firstWrite = writeLocked(ns, backend.iptablesBackend(), plan, deadline, touched);
                try {
                    flushConnections(ns, deadline);
                } finally { // after the flush, also a failed one, in half the time left: it fails nothing (review 197 M1)
                    leftovers.afterIptablesWrite(ns, backend.iptablesBackend(), firstWrite, deadline.halfway(),
                            config.commandTimeout());
                }
                meanwhile.run();
            }
        }
    }

    /**
     * The nft backends: one transaction replaces netfence's table, the read-back is verified, the
     * iptables backend's chains are removed when the read-back shows any (see {@code nft.NftApply}),
     * then the connection tracking is flushed: in-process in the same trip into the namespace,
     * otherwise by the flusher. A failed flush fails the write when {@code flushMustSucceed}.
     */
    private void writeNft(PinnedNamespace ns, FirewallBackend backend, PlannedRules plan, Deadline deadline,
            AtomicBoolean touched, boolean flushMustSucceed, Runnable meanwhile) {
        if (backend.inProcessNft() != null) {
            // what meanwhile throws comes after the write's own failure (the trip answers that as a value)
            RuntimeException[] aside = new RuntimeException[1];
            Runnable held = () -> {
                try {
                    meanwhile.run();
                } catch (RuntimeException e) {
                    aside[0] = e;
                }
            };
            try {
                int errno = backend.inProcessNft().apply(ns, plan, flush, deadline.at(), touched, held).conntrackFlushErrno();
                if (errno != 0) {
                    EnforcementException e = new EnforcementException(ErrorCode.FIREWALL_UNAVAILABLE,
                            "flushing connection tracking and learnt IPv6 routes in " + ns + " failed: errno " + errno);
                    if (flushMustSucceed) {
                        throw e;
                    }
                    LOG.warn("the quarantine of {} is in force, but {}", ns, e.getMessage());
                }
            } catch (RuntimeException e) {
                if (aside[0] != null) {
                    e.addSuppressed(aside[0]);
                }
                throw e;
            }
            if (aside[0] != null) {
                throw aside[0];
            }
            return;
        }
        backend.processNft().apply(ns, plan, deadline.cap(config.commandTimeout(), "applying the nft table"), touched);
        meanwhile.run();
        if (flushMustSucceed) {
            flushConnections(ns, deadline);
        } else {
            flushQuarantined(ns, deadline);
        }
    }

    /**
     * Writes the quarantine {@code plan} like {@link #write}. The quarantine keeps no
     * RELATED/ESTABLISHED accept, so it cuts earlier flows with or without the flush: a failed
     * flush is logged, and the quarantine still counts as in force. {@code first} runs in the
     * namespace's turn before anything is written.
     */
    void writeQuarantine(PinnedNamespace ns, FirewallBackend backend, PlannedRules plan, Deadline deadline,
            Runnable first) {
        try (NamespaceLocks.Held held = locks.lock(ns.id(), deadline)) {
            first.run();
            if (backend.isNft()) {
                writeNft(ns, backend, plan, deadline, new AtomicBoolean(), false, () -> { });
                leftovers.afterNftWrite(ns, deadline.halfway(), config.commandTimeout());
            } else {
                boolean firstWrite = writeLocked(ns, backend.iptablesBackend(), plan, deadline, new AtomicBoolean());
                flushQuarantined(ns, deadline);
                leftovers.afterIptablesWrite(ns, backend.iptablesBackend(), firstWrite, deadline.halfway(),
                        config.commandTimeout());
            }
        }
    }

    private void flushQuarantined(PinnedNamespace ns, Deadline deadline) {
        try {
            flushConnections(ns, deadline);
        } catch (EnforcementException e) {
            LOG.warn("the quarantine of {} is in force, but flushing its connection tracking failed: {} {}", ns,
                    e.code().code(), e.getMessage());
        }
    }

    /**
     * Deletes the namespace's connection-tracking entries once the rules just written are in
     * force, so that no flow opened under earlier rules (or none) outlives them: the next packet of
     * every flow is judged by the new rules ({@link ConntrackFlusher}). Runs under the namespace's
     * turn, so a flush always follows its own write.
     */
    private void flushConnections(PinnedNamespace ns, Deadline deadline) {
        if (!flush) {
            return;
        }
        flusher.flush(ns, deadline.cap(config.commandTimeout(), "flushing connection tracking"));
    }

    /** Writes and verifies {@code plan}; true when this was the namespace's first write in this process. */
    private boolean writeLocked(PinnedNamespace ns, IptablesBackend backend, PlannedRules plan, Deadline deadline,
            AtomicBoolean touched) {
        try {
            boolean hooked = hooks.present(ns);
            for (Family family : FAMILIES) {
                restore(ns, backend, family, renderer.render(plan.forFamily(family), !hooked), deadline);
                touched.set(true);
            }
            for (Family family : FAMILIES) {
                verify(ns, backend, plan.forFamily(family), deadline);
            }
            if (!hooked) {
                // a namespace this process has not written before may hold the nft backend's table (and the other
                // variant's chains: the caller's turn, LeftoverChains.afterIptablesWrite)
                selector.removeNftTable(ns, deadline, config.commandTimeout());
            }
            hooks.remember(ns);
            return !hooked;
        } catch (RuntimeException e) {
            hooks.forget(ns);
            throw e;
        }
    }

    /**
     * Reads the rules back through the backend that writes them and compares them with
     * {@code plan}, writing nothing: what differs, or empty when the namespace holds exactly the
     * plan. nft: netfence's table read as JSON (and any iptables-backend leftovers); iptables: both
     * families' chains and hooks, where a differing hook also drops the {@link WitnessedNamespaces}
     * guess so the repairing write re-inserts the hooks. A read-back that cannot be verified
     * (VERIFY_FAILED: a listing too large or unreadable, a leftover table netfence does not list)
     * is a difference too, so the rules are written again rather than left as found: a workload
     * that could make its read-back fail would otherwise keep its changes.
     */
    Optional<String> drift(PinnedNamespace ns, FirewallBackend firewallBackend, PlannedRules plan, Deadline deadline) {
        try {
            return readBack(ns, firewallBackend, plan, deadline);
        } catch (EnforcementException e) {
            if (e.code() != ErrorCode.VERIFY_FAILED) {
                throw e;
            }
            return Optional.of("the read-back could not be verified: " + e.getMessage());
        }
    }

    private Optional<String> readBack(PinnedNamespace ns, FirewallBackend firewallBackend, PlannedRules plan,
            Deadline deadline) {
        try (NamespaceLocks.Held held = locks.lock(ns.id(), deadline)) {
            if (firewallBackend.inProcessNft() != null) {
                return firewallBackend.inProcessNft().drift(ns, plan, deadline.at());
            }
            if (firewallBackend.processNft() != null) {
                return firewallBackend.processNft().drift(ns, plan,
                        deadline.cap(config.commandTimeout(), "reading back the nft table"));
            }
            IptablesBackend backend = firewallBackend.iptablesBackend();
            List<String> differences = new java.util.ArrayList<>();
            boolean hooksDiffer = false;
            for (Family family : FAMILIES) {
                RuleSet rules = plan.forFamily(family);
                FilterState state = readBack(ns, backend, family, deadline);
                Optional<String> chains = verifier.chainMismatch(rules, state);
                Optional<String> hook = verifier.hookMismatch(family, state);
                chains.ifPresent(differences::add);
                hook.ifPresent(differences::add);
                hooksDiffer |= hook.isPresent();
            }
            if (hooksDiffer) {
                hooks.forget(ns);
            }
            return differences.isEmpty() ? Optional.empty() : Optional.of(String.join("; ", differences));
        }
    }

    /** Reads {@code rules}' family back; repairs the hooks once if that is all that differs; VERIFY_FAILED otherwise. */
    private void verify(PinnedNamespace ns, IptablesBackend backend, RuleSet rules, Deadline deadline) {
        Family family = rules.family();
        FilterState after = readBack(ns, backend, family, deadline);
        verifier.chainMismatch(rules, after).ifPresent(why -> {
            throw new EnforcementException(ErrorCode.VERIFY_FAILED, family.wire() + " read-back differs: " + why);
        });
        Optional<String> hookMismatch = verifier.hookMismatch(family, after);
        if (hookMismatch.isEmpty()) {
            return;
        }
        LOG.debug("repairing the hooks in {}: {}", ns, hookMismatch.get());
        restore(ns, backend, family, renderer.render(rules, after), deadline);
        FilterState repaired = readBack(ns, backend, family, deadline);
        verifier.mismatch(rules, repaired).ifPresent(why -> {
            throw new EnforcementException(ErrorCode.VERIFY_FAILED,
                    family.wire() + " read-back differs after repairing the hooks: " + why);
        });
    }

    /** The rendered restore input of both families, for dry runs and {@code netfence plan}. */
    Map<Family, String> render(PlannedRules plan) {
        Map<Family, String> text = new LinkedHashMap<>();
        for (Family family : plan.families()) {
            text.put(family, renderer.render(plan.forFamily(family), true));
        }
        return text;
    }

    private void restore(PinnedNamespace ns, IptablesBackend backend, Family family, String input, Deadline deadline) {
        firewall.restore(ns, backend, family, input, deadline.cap(config.commandTimeout(), "restoring " + family.wire()));
    }

    private FilterState readBack(PinnedNamespace ns, IptablesBackend backend, Family family, Deadline deadline) {
        String saved = firewall.save(ns, backend, family, deadline.cap(config.commandTimeout(), "reading back " + family.wire()));
        return parser.parse(saved);
    }

    Path procRoot() {
        return config.procRoot();
    }
}
