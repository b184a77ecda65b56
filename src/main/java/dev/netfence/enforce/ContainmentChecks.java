package dev.netfence.enforce;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.netns.Capabilities;
import dev.netfence.hostguard.HostGuards;
import dev.netfence.netns.ContainerCapabilities;
import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.NamespacePinner;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.netns.ProcessIdentity;
import dev.netfence.policy.NetworkMode;
import dev.netfence.netns.Interfaces;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The checks between pinning a container's namespace and writing its rules that keep a workload
 * from opening its own containment (issue 12): the risky capabilities of every thread of the
 * container are read and reported, and refused when configured (UNSAFE_CAPABILITIES,
 * {@link Capabilities}, {@link CapabilityReads}), and so are those another member of its
 * namespace held at its last read (a pod's containers share one set of rules, {@link MemberReads}); a namespace with no
 * interface but {@code lo} is refused for a policy whose mode is not {@code none} when the event
 * named no {@code netns} (NAMESPACE_MISMATCH: the pid has moved into a fresh namespace of its own
 * while its siblings stay in the real one); and a namespace another container owns with a
 * different policy is refused (NAMESPACE_SHARED, {@link NamespaceOwners}), and one where
 * another container is quarantined for its own failure too (NAMESPACE_QUARANTINED). Reads only
 * {@code /proc}; starts no process. Counter {@code netfence.risks} (tag {@code risk}) counts the
 * risks seen, once per apply.
 */
final class ContainmentChecks {
    private final EnforcerConfig config;
    private final NamespaceOwners owners;
    private final CapabilityReads reads;
    private final GuardReasons guardReasons = new GuardReasons();
    private final ChecksumCompletion checksums;
    private final boolean enabled;

    /** {@code enabled} false: no risks, nothing checked or claimed (the benchmark's without-variant only). */
    ContainmentChecks(EnforcerConfig config, MeterRegistry registry, boolean enabled, ContainerCapabilities capabilities) {
        this(config, registry, enabled, capabilities, dev.netfence.core.SteadyClock.system());
    }

    /** As above; {@code scans}: what the budget of a scan for an owner's processes is measured on ({@link NamespaceOwners}). */
    ContainmentChecks(EnforcerConfig config, MeterRegistry registry, boolean enabled, ContainerCapabilities capabilities,
            java.time.Clock scans) {
        this.config = Objects.requireNonNull(config, "config");
        this.owners = new NamespaceOwners(config.procRoot(),
                task -> config.taskPolicies().current(task).map(dev.netfence.policy.PolicyDigest::of).orElse(null),
                scans);
        this.reads = new CapabilityReads(config, registry, capabilities);
        this.checksums = new ChecksumCompletion(config.procRoot());
        this.enabled = enabled;
    }

    /** The container's risks for an apply ({@link CapabilityReads#forApply}); none with the checks off. */
    private ContainerCapabilities.Read riskRead(EnforcementRequest request, PinnedNamespace ns) {
        return enabled ? reads.forApply(request, ns) : new ContainerCapabilities.Read(List.of(), false);
    }

    /**
     * One attempt's read of the container's risks into {@code into}, made once: now when
     * {@code --refuse-capabilities} makes a refusal depend on them, or with {@code on-failure
     * leave} (a read that fails after the rules were written would quarantine the container, which
     * leave promises not to do for a failure before anything changed), else when first run, which
     * the enforcer arranges while a namespace thread writes (the read's ≈ 50-250 µs of
     * {@code /proc} then mostly overlap the write; the namespace's write turn lasts until both are
     * done, at most the read's budget longer for a container that keeps making threads,
     * {@link ContainerCapabilities}).
     */
    RiskRead riskRead(EnforcementRequest request, PinnedNamespace ns, AtomicReference<List<String>> into) {
        RiskRead read = new RiskRead(request, ns, into);
        if (enabled && (!config.refuseCapabilities().isEmpty() || config.onFailure() == OnFailure.LEAVE)) {
            read.run();
        }
        return read;
    }

    /** See {@link #riskRead}; used by the attempt's own thread only. */
    final class RiskRead implements Runnable {
        private final EnforcementRequest request;
        private final PinnedNamespace ns;
        private final AtomicReference<List<String>> into;
        private boolean done;
        private volatile boolean netAdminOverHost;

        private RiskRead(EnforcementRequest request, PinnedNamespace ns, AtomicReference<List<String>> into) {
            this.request = request;
            this.ns = ns;
            this.into = into;
        }

        @Override
        public void run() {
            if (!done) {
                done = true;
                ContainerCapabilities.Read read = riskRead(request, ns);
                netAdminOverHost = read.netAdminOverHost();
                memberRead(ns.id(), request.containerId(), ns.pid(), read);
                into.set(read.risks());
            }
        }

        /**
         * Whether the read found a thread holding CAP_NET_ADMIN in the host's user namespace (false
         * before it ran): it can make and remove the host's interfaces, so no host guard holds it.
         */
        boolean netAdminOverHost() {
            return netAdminOverHost;
        }

        /** For the outcome of a failed {@code attempt} whose write never read them; a failure here travels in it. */
        void afterFailure(Throwable attempt) {
            try {
                run();
            } catch (RuntimeException | Error e) {
                attempt.addSuppressed(e);
            }
        }
    }

    /** Why a host guard written for a container holding CAP_NET_ADMIN in the host's user namespace is not claimed. */
    static final String NET_ADMIN_OVER_HOST = "the container holds CAP_NET_ADMIN in the host's user namespace, with"
            + " which it can make and delete the host namespace's interfaces (rtnetlink by namespace id): no rule on its"
            + " host side holds it";

    /**
     * {@code guards} as the outcome of the container in {@code ns} may claim them: without the host
     * guard when a thread of the container holds CAP_NET_ADMIN in the host's user namespace, or
     * when its capabilities cannot be read (then nothing vouches that none does), or where checksums
     * completed after the guard are not ruled out ({@link #checksumsNotHeld}). For the results
     * made without an apply's own read (a quarantine); the read is made only when the host guard
     * is claimed, and never with the checks off.
     */
    HostGuards.Result claimable(HostGuards.Result guards, PinnedNamespace ns, String containerId) {
        if (!enabled || !guards.host()) {
            return guards;
        }
        try {
            ContainerCapabilities.Read read = reads.now(ns, containerId);
            memberRead(ns.id(), containerId, ns.pid(), read);
            if (!read.netAdminOverHost()) {
                MemberReads.Beside beside = beside(ns.id(), containerId);
                String shared = reachingHostReason(beside.reachingHost());
                if (shared == null) {
                    shared = checksums.notHeld(ns, beside.plus(read.risks()), new Deadline(java.time.Clock.systemUTC(),
                            java.time.Instant.now().plus(ChecksumCompletion.TIMEOUT)));
                }
                return shared == null ? guards : guards.notHolding(shared);
            }
            return guards.notHolding(NET_ADMIN_OVER_HOST);
        } catch (IOException | RuntimeException e) {
            return guards.notHolding("the capabilities of pid " + ns.pid() + " cannot be read (" + e.getMessage()
                    + "), so nothing vouches that no thread of the container holds CAP_NET_ADMIN in the host's user"
                    + " namespace");
        }
    }

    /**
     * Why {@code containerId}'s policy is refused in namespace {@code ns} for another member's
     * capabilities: one that {@code --refuse-capabilities} names, held by a member of the same
     * namespace at its last read (it can do to the shared rules what the container itself is
     * refused for); null when none is, or no refusal is configured.
     */
    String refusedBeside(NamespaceId ns, String containerId) {
        if (!enabled || config.refuseCapabilities().isEmpty()) {
            return null;
        }
        for (Map.Entry<String, String> held : beside(ns, containerId).risks().entrySet()) {
            if (config.refuseCapabilities().contains(held.getKey())) {
                return "container " + held.getValue() + ", which shares the network namespace of container "
                        + containerId + ", holds " + held.getKey() + ", refused by --refuse-capabilities";
            }
        }
        return null;
    }

    /**
     * Null when the host guard of the container in {@code ns}, whose namespace's members hold
     * {@code risks}, may be claimed as far as checksums completed after it go, transmit checksum
     * offload turned off inside where they need it; otherwise why not ({@link ChecksumCompletion}).
     * Null with the checks off.
     */
    String checksumsNotHeld(PinnedNamespace ns, List<String> risks, Deadline deadline) {
        return enabled ? checksums.notHeld(ns, risks, deadline) : null;
    }

    /** Whether issue 12's steps run (not in the benchmark's comparison without them). */
    boolean enabled() {
        return enabled;
    }

    /**
     * A container the OCI hook fenced or let join namespace {@code ns} (no event of its own yet),
     * at each resync, or a member of a shared {@code ns} restored from the journal (start,
     * take-over), through its pid {@code pid}: its capabilities are read for the other members
     * ({@link #beside}, {@link #refusedBeside}). One that
     * cannot be read ({@link CapabilityReads#READS} times) counts as holding every risk. Not at the hook itself: at {@code createRuntime} the runtime has not
     * dropped the container's capabilities yet, so every process there would read as holding all.
     */
    void joined(NamespaceId ns, String containerId, int pid) {
        if (!enabled || containerId == null) {
            return;
        }
        ContainerCapabilities.Read read = reads.forMember(pid, containerId);
        if (read == null) {
            return;
        }
        memberRead(ns, containerId, pid, read);
    }

    /**
     * What a capability read of {@code containerId} through {@code pid} found in {@code ns}, kept
     * for its co-members ({@link #beside}).
     */
    void memberRead(NamespaceId ns, String containerId, int pid, ContainerCapabilities.Read read) {
        if (enabled) {
            owners.memberRead(ns, containerId, pid, new MemberReads.Found(read.risks(), read.netAdminOverHost()));
        }
    }

    /**
     * What the other members of namespace {@code ns} (a pod's containers, one the OCI hook let join
     * included) found at their last reads, in one look ({@link MemberReads#beside}): what they can
     * do to the rules and the host side they share with {@code containerId}. Nothing with the checks off.
     */
    MemberReads.Beside beside(NamespaceId ns, String containerId) {
        return enabled ? owners.beside(ns, containerId) : MemberReads.Beside.NONE;
    }

    /**
     * Why the host guard of a container is not claimed because of {@code other}, a member of its
     * namespace (a pod's) whose last read found CAP_NET_ADMIN in the host's user namespace: it can
     * make host interfaces past the shared veth's chain; null when {@code other} is null.
     */
    static String reachingHostReason(String other) {
        return other == null ? null : "container " + other + ", which shares its network namespace, holds CAP_NET_ADMIN"
                + " in the host's user namespace, with which it can make and delete the host namespace's interfaces"
                + " (rtnetlink by namespace id): no rule on their host side holds it";
    }

    /**
     * Refuses what must not be enforced (see the class comment); claims the namespace for the
     * container last. {@code process}: the pin's pid opened before the pin, or null.
     */
    void check(EnforcementRequest request, PinnedNamespace ns, List<String> risks, String digest,
            ProcessIdentity process) {
        check(request, ns, risks, digest, process, () -> { });
    }

    /**
     * As {@link #check(EnforcementRequest, PinnedNamespace, List, String, ProcessIdentity)}, and
     * runs {@code noInterface} before it refuses a namespace with no interface but {@code lo}: the
     * container's veth may have been moved out of it (into a namespace of the workload's own), and
     * what still guards that veth must be closed; what {@code noInterface} throws travels suppressed
     * in the refusal.
     */
    void check(EnforcementRequest request, PinnedNamespace ns, List<String> risks, String digest,
            ProcessIdentity process, Runnable noInterface) {
        if (!enabled) {
            return;
        }
        List<String> refused = new ArrayList<>(0);
        for (String risk : risks) {
            if (config.refuseCapabilities().contains(risk)) {
                refused.add(risk);
            }
        }
        if (!refused.isEmpty()) {
            throw new EnforcementException(ErrorCode.UNSAFE_CAPABILITIES, "container " + request.containerId() + " (pid "
                    + ns.pid() + ") holds " + String.join(", ", refused) + ", refused by --refuse-capabilities");
        }
        String beside = refusedBeside(ns.id(), request.containerId());
        if (beside != null && !owners.quarantinedBesides(ns.id(), request.containerId())) {
            // (where a member is quarantined for its own failure, a refused one among them, the claim refuses
            // NAMESPACE_QUARANTINED as before: this container's checks passed, it keeps no one out)
            throw new EnforcementException(ErrorCode.UNSAFE_CAPABILITIES, beside);
        }
        if (interfacesChecked(request) && onlyLoopback(ns)) {
            EnforcementException refusal = new EnforcementException(ErrorCode.NAMESPACE_MISMATCH,
                    "namespace has no network interface: pid " + ns.pid() + " is in a namespace with only lo (inode "
                    + ns.inode() + "), not a container's network (did the workload unshare it, or move its interface"
                    + " out? publish the event with netns, the runtime's bind path of the container's namespace, to name"
                    + " it)");
            try {
                noInterface.run();
            } catch (RuntimeException e) {
                refusal.addSuppressed(e);
            }
            throw refusal;
        }
        owners.claim(ns, request.containerId(), request.taskId(), digest, process);
    }

    /**
     * Whether the lo-only check applies to {@code request} (no runtime's path named, as a
     * {@code /proc/PID/ns/net} path is not one: {@link NamespacePinner#isRuntimeBind}; a mode other
     * than {@code none}): then the pin is asked to read the interfaces while it checks the pid.
     */
    boolean interfacesChecked(EnforcementRequest request) {
        return enabled && !NamespacePinner.isRuntimeBind(request.netns()) && request.policy().mode() != NetworkMode.NONE;
    }

    /** Re-records a namespace owner known from before a restart (see {@link NamespaceOwners#restore}). */
    void restoreOwner(dev.netfence.netns.NamespaceId id, String containerId, String taskId, String digest, int pid) {
        owners.restore(id, containerId, taskId, digest, pid);
    }

    /** Re-records a member quarantined for its own failure before a restart (see {@link NamespaceOwners#restoreQuarantined}). */
    void restoreQuarantined(dev.netfence.netns.NamespaceId id, String containerId, String code, int pid) {
        owners.restoreQuarantined(id, containerId, code, pid);
    }

    /**
     * Under the namespace's write turn, just before {@code containerId}'s policy is written, and
     * once more after: NAMESPACE_QUARANTINED when another container is quarantined there since the
     * claim ({@link NamespaceOwners#confirm}), else UNSAFE_CAPABILITIES when another member's read
     * since the check found a capability {@code --refuse-capabilities} names ({@link #refusedBeside}).
     */
    void confirm(PinnedNamespace ns, String containerId) {
        if (enabled) {
            owners.confirm(ns, containerId);
            String beside = refusedBeside(ns.id(), containerId);
            if (beside != null) {
                throw new EnforcementException(ErrorCode.UNSAFE_CAPABILITIES, beside);
            }
        }
    }

    /**
     * Before the quarantine of {@code containerId} for its own failure {@code code} is written: it
     * is remembered as the namespace's quarantined member ({@link NamespaceOwners#quarantined}),
     * unless {@code code} is NAMESPACE_QUARANTINED (quarantined only because another member is);
     * true when it was no member before.
     */
    boolean quarantined(PinnedNamespace ns, String containerId, ErrorCode code) {
        return enabled && code != ErrorCode.NAMESPACE_QUARANTINED
                && owners.quarantined(ns.id(), containerId, code, ns.pid());
    }

    /** {@code containerId}'s quarantine could not be written: it is no quarantined member of {@code id}. */
    void notQuarantined(dev.netfence.netns.NamespaceId id, String containerId) {
        owners.notQuarantined(id, containerId);
    }

    /** {@code containerId} left namespace {@code id} for good: neither owner nor quarantined member. */
    void left(dev.netfence.netns.NamespaceId id, String containerId) {
        owners.left(id, containerId);
        guardReasons.forget(containerId);
    }

    /** Why host guards are not claimed, logged once per change ({@link GuardReasons}). */
    GuardReasons guardReasons() {
        return guardReasons;
    }

    /** Whether a container other than {@code containerId} is quarantined for its own failure in namespace {@code id}. */
    boolean quarantinedBesides(dev.netfence.netns.NamespaceId id, String containerId) {
        return enabled && owners.quarantinedBesides(id, containerId);
    }

    /** Whether another container's policy is in force in namespace {@code id} (see {@link NamespaceOwners#enforcedForAnother}). */
    boolean enforcedForAnother(dev.netfence.netns.NamespaceId id, String containerId) {
        return enabled && owners.enforcedForAnother(id, containerId);
    }

    /**
     * Whether the pinned namespace has no interface but {@code lo}: as the pin read it, or read here
     * from the pid's {@code net/dev} and re-checked against the pin ({@link Interfaces}).
     */
    boolean onlyLoopback(PinnedNamespace ns) {
        if (ns.onlyLoopback() != null) {
            return ns.onlyLoopback();
        }
        boolean only;
        try {
            only = Interfaces.onlyLoopback(dev.netfence.netns.ProcTasks.view(config.procRoot(), ns.pid()));
        } catch (IOException e) {
            throw new EnforcementException(ErrorCode.CONTAINER_NOT_FOUND, "process " + ns.pid() + " does not exist");
        }
        if (!ns.occupied()) {
            throw new EnforcementException(ErrorCode.CONTAINER_NOT_FOUND,
                    "process " + ns.pid() + " left its namespace while it was checked");
        }
        return only;
    }
}
