package dev.netfence.enforce;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.EnforcementTarget;
import dev.netfence.hostguard.GuardChain;
import dev.netfence.hostguard.HostGuardMode;
import dev.netfence.hostguard.HostGuards;
import dev.netfence.netns.ContainerCapabilities;
import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.NativeDescriptors;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.netns.ProcessIdentity;
import dev.netfence.rules.PlannedRules;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A resync of a container whose namespace's nftables ruleset has not changed since netfence last
 * verified it, answered without pinning the namespace, re-running issue 12's checks or entering
 * the namespace. After a full attempt (pin, checks, plan, write or read-back) verified a
 * container's rules, the container is remembered with the process the attempt checked, held by
 * a pidfd opened before the pin ({@link ProcessIdentity}: alive afterwards means every check read
 * that very process), its namespace and what the attempt resolved and reported. A later
 * {@link #check} for the same pid and recorded namespace gives the full attempt's "applied, no
 * drift" when, and only when: the in-process nft backend is in use; hostnames resolve to exactly what they did then and plan to a plan the namespace's table was
 * verified equal to, at a ruleset generation the namespace still has (read through the socket
 * kept in the namespace, {@code nft.InProcessNft#unchanged}: any committed nftables transaction
 * there, by anyone, even one undone since, moves it; and at least every five minutes the table
 * is read back in full anyway); no capability refused by {@code --refuse-capabilities} is held by
 * another member of its namespace at that member's last read ({@link ContainmentChecks#refusedBeside}), or in the
 * capability sets of any thread of the container ({@code ContainerCapabilities#risksOf}: the
 * process's {@code /proc/PID/status} and every thread of its cgroup, all five sets, as the full
 * attempt reads them; read when refusals are configured, and otherwise once the last read is
 * {@link #MAX_READ_AGE} old, so that what outcomes report of the container's risks and guards is
 * never older than that: the namespace's read-back age is shared by its pod members, and a member
 * checked after another could otherwise stay quiet for good); and the process is still alive at
 * the end. The host guard,
 * when on, is not skipped: it is applied as the full attempt applies it (the host chain listed
 * unless the host's generation is unchanged, rewritten on a difference, which is then the
 * result's drift, with the risks read anew since that result is reported, and the host guard not
 * claimed, or under {@code required} the full attempt run, when a thread holding CAP_NET_ADMIN in
 * the host's user namespace is found then; a quiet result otherwise claims it as the last read
 * found; where the host guard is claimed for a namespace whose members hold CAP_NET_RAW or
 * CAP_NET_ADMIN, the full attempt runs instead, which turns transmit checksum offload off again
 * first, {@link ChecksumCompletion}), its host-side lookup
 * given a copy of the pin's descriptor kept with the entry (at 1024 or above, so the namespace is
 * named without a pid). Otherwise the
 * caller runs the full attempt, which repeats every check. Why the skipped checks cannot answer
 * differently:
 * <ul>
 *   <li>the pin's guards (not netfence's or the host's namespace, the descriptor leads to the
 *       namespace checked): the namespace is the recorded one, whose identity cannot be reused
 *       while the kept socket holds it; those answers depend on nothing else;</li>
 *   <li>the cgroup check and the capability read: the process is the one checked (pidfd). Its
 *       capabilities can change (capset raises the effective set within the permitted one, and
 *       {@code unshare(CLONE_NEWUSER)} makes every set full again), so when refusals are
 *       configured every set is read again; the risks of a quiet result are
 *       those of the last read (that one, or the last full attempt's: each read's are kept), and the reconciler publishes
 *       an outcome when they, or the guards, differ from what its last outcome said (the risk
 *       counter counts full attempts). A process moved to another cgroup stays watched (a full attempt would
 *       release it as gone, and stop repairing its rules);</li>
 *   <li>the namespace-ownership claim (NAMESPACE_SHARED): owners change only through claims, and
 *       a claim that another owner of the namespace could win writes that owner's table, which
 *       moves the generation;</li>
 *   <li>the lo-only check: it keeps an event from naming a pid that moved into a fresh namespace;
 *       the pid is still in the recorded namespace (the reconciler checks that first), so this is
 *       settled. A namespace whose interfaces the workload deleted stays watched.</li>
 * </ul>
 * The resync's liveness test (pid still in its recorded namespace; released otherwise) is the
 * reconciler's and is not skipped. Entries are dropped at the start of every full attempt of the
 * container (re-made when it verifies) and when its namespace is released; at most
 * {@link #LIMIT} (all dropped past that, which only costs full attempts). Thread-safe.
 */
final class QuietResyncs {
    static final int LIMIT = 65_536;
    /** How old the capability read a quiet result reports may be before it is made again: as old as a read-back may be. */
    static final java.time.Duration MAX_READ_AGE = java.time.Duration.ofMinutes(5);

    /** What the last full attempt verified of one container, with what the last capability read found, and when. */
    private record Verified(ProcessIdentity process, NamespaceId netns, Map<String, List<InetAddress>> resolved,
            List<String> risks, boolean netAdminOverHost, KeptDescriptor nsFd, java.time.Instant readAt) {}

    /**
     * The copy of a pin's descriptor kept with an entry, used and closed under its own lock: an
     * entry can be forgotten by another thread (its namespace released, a new full attempt) while
     * a resync uses it, and a descriptor number closed meanwhile can be reused at once for another
     * container's namespace, whose host guard would then be written with this one's plan.
     */
    private static final class KeptDescriptor {
        private final int fd;
        private boolean closed;

        KeptDescriptor(int fd) {
            this.fd = fd;
        }

        /** {@code use} of the descriptor's path (null when none was kept); null when it was closed. */
        synchronized <T> T withPath(java.util.function.Function<java.nio.file.Path, T> use) {
            if (closed) {
                return null;
            }
            return use.apply(fd < 0 ? null : java.nio.file.Path.of("/proc/self/fd/" + fd));
        }

        synchronized void close() {
            if (!closed) {
                closed = true;
                NativeDescriptors.closeQuietly(fd);
            }
        }
    }

    private final Map<String, Verified> byContainer = new ConcurrentHashMap<>();
    private final ApplyPipeline pipeline;
    private final BackendSelector selector;
    private final HostGuards hostGuards;
    private final java.util.Set<String> refused;
    private final ContainerCapabilities capabilities;
    private final ContainmentChecks checks;
    private final java.time.Clock steady;

    /** {@code steady}: what the age of a capability read is measured on (a steady clock). */
    QuietResyncs(EnforcerConfig config, ApplyPipeline pipeline, BackendSelector selector, HostGuards hostGuards,
            ContainerCapabilities capabilities, ContainmentChecks checks, java.time.Clock steady) {
        this.steady = Objects.requireNonNull(steady, "steady");
        this.pipeline = Objects.requireNonNull(pipeline, "pipeline");
        this.selector = Objects.requireNonNull(selector, "selector");
        this.hostGuards = Objects.requireNonNull(hostGuards, "hostGuards");
        this.refused = java.util.Set.copyOf(config.refuseCapabilities());
        this.capabilities = Objects.requireNonNull(capabilities, "capabilities");
        this.checks = Objects.requireNonNull(checks, "checks");
    }

    /**
     * Before a full attempt: forgets what was verified of the container and opens its process's
     * identity (null when the request has no container id or pid, or pidfds are unavailable).
     */
    ProcessIdentity before(EnforcementRequest request) {
        if (request.containerId() == null) {
            return null;
        }
        forget(byContainer.remove(request.containerId()));
        return request.pid() == null ? null : ProcessIdentity.open(request.pid()).orElse(null);
    }

    /**
     * After a full attempt that verified the container's rules in namespace {@code netns} with
     * {@code pid}: remembers it when {@code process} is that pid and still alive; otherwise
     * closes {@code process}. {@code netAdminOverHost}: the attempt's read found CAP_NET_ADMIN in
     * the host's user namespace, so a quiet result does not claim the host guard either.
     */
    void verified(EnforcementRequest request, ProcessIdentity process, PinnedNamespace ns,
            Map<String, List<InetAddress>> resolved, List<String> risks, boolean netAdminOverHost) {
        if (process == null) {
            return;
        }
        // with the host guard on, a copy of the pin's descriptor names the namespace to its lookup
        int nsFd = hostGuards.mode() == HostGuardMode.OFF ? -1 : NativeDescriptors.copyHigh(ns.descriptor());
        if (process.pid() != ns.pid() || !process.alive() || (hostGuards.mode() != HostGuardMode.OFF && nsFd < 0)) {
            process.close();
            NativeDescriptors.closeQuietly(nsFd);
            return;
        }
        NamespaceId netns = ns.id();
        if (byContainer.size() >= LIMIT) {
            byContainer.keySet().forEach(id -> forget(byContainer.remove(id)));
        }
        forget(byContainer.put(request.containerId(), new Verified(process, netns, Map.copyOf(resolved),
                List.copyOf(risks), netAdminOverHost, new KeptDescriptor(nsFd), steady.instant())));
    }

    /** A full attempt that did not verify: its process identity is not kept. */
    void notVerified(ProcessIdentity process) {
        if (process != null) {
            process.close();
        }
    }

    /** The namespace was released: every container remembered in it is forgotten. */
    void released(NamespaceId netns) {
        byContainer.forEach((id, v) -> {
            if (v.netns().equals(netns)) {
                forget(byContainer.remove(id));
            }
        });
    }

    /**
     * The full attempt's result for a container verified before whose pid is in {@code recorded}
     * (the caller checked), when nothing it depends on can have changed (see the class comment);
     * null when a full attempt must run. A host chain it found changed and rewrote is noted in
     * {@code repairs} first, so that the full attempt it may then hand over to, which finds the chain
     * equal, still reports it.
     */
    Applied check(EnforcementRequest request, NamespaceId recorded, Deadline deadline, RepairsFound repairs) {
        FirewallBackend backend = selector.chosen();
        Verified v = request.containerId() == null ? null : byContainer.get(request.containerId());
        if (v == null || request.pid() == null || v.process().pid() != request.pid() || !v.netns().equals(recorded)
                || backend == null || backend.inProcessNft() == null) {
            return null;
        }
        ContainerCapabilities.Read now = null; // read at most once per check
        if (!refused.isEmpty()) {
            // all five capability sets, as the full check reads them: unshare(CLONE_NEWUSER)
            // gives a process full sets again, so none can be taken as settled
            try {
                now = readNow(request, recorded);
                if (!java.util.Collections.disjoint(now.risks(), refused)
                        || now.netAdminOverHost() && !v.netAdminOverHost()
                        || checks.refusedBeside(recorded, request.containerId()) != null) {
                    return null; // the full attempt decides (and reports the host guard as it then stands)
                }
            } catch (java.io.IOException | IllegalArgumentException e) {
                return null;
            }
        }
        Map<String, List<InetAddress>> resolved;
        PlannedRules plan;
        try {
            // half the time left at most: a full attempt may follow, whose read-back needs the rest
            resolved = pipeline.resolveHostnames(request.policy(), deadline.halfway());
            plan = pipeline.plan(request.policy(), resolved);
        } catch (EnforcementException e) {
            return null; // the full attempt meets the same failure and reports it
        }
        if (!resolved.equals(v.resolved()) || !backend.inProcessNft().unchanged(recorded, plan)
                || !v.process().alive()) {
            return null;
        }
        if (now == null && checks.enabled() && !steady.instant().isBefore(v.readAt().plus(MAX_READ_AGE))) {
            try { // what the outcome reports, read again once the last read is MAX_READ_AGE old
                now = readNow(request, recorded);
                if (now.netAdminOverHost() && !v.netAdminOverHost()) {
                    return null; // the full attempt decides (and reports the host guard as it then stands)
                }
            } catch (java.io.IOException | IllegalArgumentException e) {
                return null;
            }
        }
        HostGuards.Result guards;
        try {
            guards = v.nsFd().withPath(path -> hostGuards.apply(
                    GuardChain.ownerOf(request.containerId(), request.pid()), path, plan));
        } catch (EnforcementException e) {
            return null; // the full attempt meets the same failure and reports it
        }
        if (guards == null) {
            return null; // forgotten meanwhile: the full attempt decides
        }
        repairs.add(guards.drift());
        if (guards.host() && (now != null ? now.netAdminOverHost() : v.netAdminOverHost())) {
            guards = guards.notHolding(ContainmentChecks.NET_ADMIN_OVER_HOST); // as the last read found
        }
        MemberReads.Beside beside = checks.beside(recorded, request.containerId()); // one look for guards and risks
        String shared = guards.host() ? ContainmentChecks.reachingHostReason(beside.reachingHost()) : null;
        if (shared != null) { // a pod member beside it can get past their shared veth's chain
            if (hostGuards.mode() == HostGuardMode.REQUIRED) {
                return null; // the full attempt fails closed
            }
            guards = guards.notHolding(shared);
        }
        List<String> risks = now != null ? now.risks() : v.risks(); // what was read last
        if (guards.drift() != null) {
            // the host chain was repaired: this result is reported, so its risks are read now, and whether
            // NET_ADMIN reaches the host's namespace (a process given it since, e.g. podman exec --privileged)
            try {
                now = now != null ? now : readNow(request, recorded);
                risks = now.risks();
                if (now.netAdminOverHost() && guards.host()) {
                    if (hostGuards.mode() == HostGuardMode.REQUIRED) {
                        return null; // the full attempt fails closed
                    }
                    guards = guards.notHolding(ContainmentChecks.NET_ADMIN_OVER_HOST);
                }
            } catch (java.io.IOException | IllegalArgumentException e) {
                // the process is going; the risks of the last full attempt stand
            }
        }
        if (guards.host() && ChecksumCompletion.needed(beside.plus(risks))) {
            // the full attempt turns transmit checksum offload off again before it claims the host guard: a
            // workload holding CAP_NET_ADMIN may have turned it on since, one holding CAP_NET_RAW may be new
            return null;
        }
        if (hostGuards.mode() != HostGuardMode.OFF) {
            checks.guardReasons().seen(request.containerId(), guards);
        }
        if (now != null) { // kept, so that the next quiet result reports what this one does, not the full attempt's again
            byContainer.replace(request.containerId(), v, new Verified(v.process(), v.netns(), v.resolved(),
                    now.risks(), now.netAdminOverHost(), v.nsFd(), steady.instant()));
        }
        return new Applied(plan, resolved, backend, beside.plus(risks), guards.guards(),
                new EnforcementTarget(request.pid(), recorded.device(), recorded.inode()), guards.drift(), beside.risks(),
                pipeline.leftoverWarning(recorded, request.pid()).stream().toList()); // as the full attempt's
    }

    /** The container's capabilities read now, what they say of the host's namespace kept for its pod members. */
    private ContainerCapabilities.Read readNow(EnforcementRequest request, NamespaceId recorded) throws java.io.IOException {
        ContainerCapabilities.Read now = capabilities.read(request.pid(), request.containerId(), null);
        checks.memberRead(recorded, request.containerId(), request.pid(), now);
        return now;
    }

    int size() {
        return byContainer.size();
    }

    private static void forget(Verified v) {
        if (v != null) {
            v.process().close();
            v.nsFd().close();
        }
    }
}
