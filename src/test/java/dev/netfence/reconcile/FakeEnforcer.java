package dev.netfence.reconcile;

import dev.netfence.netns.NamespaceId;

import dev.netfence.core.EnforcementResult;
import dev.netfence.core.EnforcementTarget;
import dev.netfence.core.ErrorCode;
import dev.netfence.enforce.EnforcementRequest;
import dev.netfence.enforce.Enforcer;
import dev.netfence.policy.PolicyDigest;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An {@link Enforcer} for reconciler tests: records every call ("enforce c1", "reconcile c1",
 * "failClosed c1 POLICY_NOT_FOUND", "recheckQuarantine c1 POLICY_NOT_FOUND", "fence c1"), answers applied with the request policy's digest
 * and the target it was given (pid, namespace {@code netns}), and lets a test script the next
 * read-back (of the rules or of a quarantine): drift found, other resolved addresses, or the
 * container gone.
 */
final class FakeEnforcer implements Enforcer {
    final List<String> calls = new CopyOnWriteArrayList<>();
    volatile String drift;
    volatile Map<String, List<String>> resolved = Map.of();
    volatile boolean gone;
    /** When set, every apply and read-back is refused with it (the namespace's state refused). */
    volatile ErrorCode refuse;
    /** What {@link #enforcedForAnother} answers. */
    volatile boolean enforcedForAnother;
    volatile long device = 4;
    volatile long inode = 4026530000L;
    /** When set, a read-back of container {@link #holdId} waits for it (a read-back that hangs). */
    volatile java.util.concurrent.CountDownLatch hold;
    volatile String holdId;
    /** The deadline of every correction ({@link #reconcile}) asked for. */
    final List<java.time.Instant> deadlines = new CopyOnWriteArrayList<>();
    /** How long each apply takes, in milliseconds. */
    volatile long applyMillis;
    /** The risks and guards every apply and read-back that applies reports. */
    volatile List<String> risks = List.of();
    volatile List<String> guards = List.of("netns", "host");
    /** When set, {@link #failClosed} writes nothing, as with {@code --on-failure leave}: failed, located, not quarantined. */
    volatile boolean leave;
    /** The guards every quarantine and its read-back report. */
    volatile List<String> quarantineGuards = List.of("netns", "host");
    /** The warnings every apply and read-back that applies reports. */
    volatile List<String> warnings = List.of();
    /** What the last correction ({@link #reconcile}) was given as its last verified answers. */
    volatile java.util.Map<String, List<String>> lastResolved;
    /** The namespace path the last correction or apply ({@link #reconcile}, {@link #enforce}) named (null: none). */
    volatile java.nio.file.Path lastNetns;

    /** The namespaces {@link #released} was told of, in order. */
    final List<dev.netfence.netns.NamespaceId> releasedNamespaces = new CopyOnWriteArrayList<>();

    @Override
    public void released(dev.netfence.netns.NamespaceId netns) {
        releasedNamespaces.add(netns);
    }

    @Override
    public EnforcementResult enforce(EnforcementRequest request) {
        calls.add("enforce " + request.containerId());
        lastNetns = request.netns();
        if (applyMillis > 0) {
            try {
                Thread.sleep(applyMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return answer(request, null);
    }

    @Override
    public EnforcementResult reconcile(EnforcementRequest request) {
        calls.add("reconcile " + request.containerId());
        deadlines.add(request.deadline());
        lastResolved = request.lastResolved();
        lastNetns = request.netns();
        java.util.concurrent.CountDownLatch h = hold;
        if (h != null && request.containerId().equals(holdId)) {
            try {
                h.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        String d = drift;
        drift = null;
        return answer(request, d);
    }

    @Override
    public EnforcementResult failClosed(String containerId, String runtime, Integer pid, java.nio.file.Path netns,
            ErrorCode code, String message) {
        calls.add("failClosed " + containerId + " " + code.code());
        lastNetns = netns;
        if (gone) {
            return EnforcementResult.skip(ErrorCode.CONTAINER_NOT_FOUND, "gone").build();
        }
        if (leave) {
            return EnforcementResult.failure(code, message).target(new EnforcementTarget(pid, device, inode)).build();
        }
        return EnforcementResult.failure(code, message).backend("iptables-nft").quarantined(true)
                .guards(quarantineGuards).target(new EnforcementTarget(pid, device, inode)).build();
    }

    @Override
    public EnforcementResult recheckQuarantine(String containerId, String runtime, int pid, java.nio.file.Path netns,
            ErrorCode code, String message) {
        calls.add("recheckQuarantine " + containerId + " " + code.code());
        lastNetns = netns;
        if (gone) {
            return EnforcementResult.skip(ErrorCode.CONTAINER_NOT_FOUND, "gone").build();
        }
        String d = drift;
        drift = null;
        return EnforcementResult.failure(code, message).backend("iptables-nft").quarantined(true)
                .guards(quarantineGuards).target(new EnforcementTarget(pid, device, inode)).drift(d).build();
    }

    @Override
    public void restoreNamespaceOwner(String containerId, String taskId, int pid,
            dev.netfence.netns.NamespaceId netns, String policyDigest) {
        calls.add("restoreNamespaceOwner " + containerId + " " + taskId + " " + policyDigest);
    }

    @Override
    public void restoreQuarantined(String containerId, int pid, dev.netfence.netns.NamespaceId netns, String code) {
        calls.add("restoreQuarantined " + containerId + " " + code);
    }

    @Override
    public boolean enforcedForAnother(dev.netfence.netns.NamespaceId netns, String containerId) {
        return enforcedForAnother;
    }

    @Override
    public void joined(String containerId, int pid, NamespaceId netns) {
        calls.add("joined " + containerId);
    }

    @Override
    public EnforcementResult fence(String containerId, String runtime, int pid) {
        calls.add("fence " + containerId);
        if (gone) {
            return EnforcementResult.skip(ErrorCode.CONTAINER_NOT_FOUND, "gone").build();
        }
        return EnforcementResult.failure(ErrorCode.POLICY_NOT_FOUND, "fenced until the event").backend("iptables-nft")
                .quarantined(true).target(new EnforcementTarget(pid, device, inode)).build();
    }

    private EnforcementResult answer(EnforcementRequest request, String driftFound) {
        if (gone) {
            return EnforcementResult.skip(ErrorCode.CONTAINER_NOT_FOUND, "process exited").build();
        }
        if (refuse != null) {
            return EnforcementResult.failure(refuse, "the namespace has no interface but lo").build();
        }
        return EnforcementResult.applied().policyDigest(PolicyDigest.of(request.policy())).backend("iptables-nft")
                .families(List.of("ipv4", "ipv6")).resolved(resolved).risks(risks).guards(guards).warnings(warnings).attempts(1)
                .target(new EnforcementTarget(request.pid(), device, inode)).drift(driftFound).build();
    }

}
