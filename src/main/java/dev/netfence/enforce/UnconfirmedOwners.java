package dev.netfence.enforce;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import java.util.Collection;
import java.util.Set;

/**
 * The cause a NAMESPACE_SHARED refusal carries when nothing vouches that any policy governs the
 * namespace: every owner recorded there (the refusing ones among them) is kept only because the
 * scan for its container's processes ran out of its budget ({@link MemberLiveness}), and the
 * claimant owns nothing there itself. Such an owner's own process has left the namespace, whose
 * inode may have been reused by a brand-new namespace holding none of netfence's rules, so the
 * enforcer writes the OCI hook's fence for the refused container instead of leaving it without
 * rules ({@link Quarantines#fenceUngoverned}); a refusal by any confirmed owner carries no such
 * cause and writes nothing, as before. Never thrown by itself; carries no stack trace.
 */
final class UnconfirmedOwners extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private UnconfirmedOwners(Collection<String> owners) {
        super("no owner of the namespace could be confirmed there (the scan for the processes of " + owners
                + " ran out)", null, false, false);
    }

    /**
     * The cause for a refusal of {@code claimant} in a namespace whose recorded owners are
     * {@code owners}, of which {@code unconfirmed} could not be confirmed; null when any owner
     * is confirmed or the claimant is one of them (then its own rules were written there).
     */
    static UnconfirmedOwners of(Set<String> owners, String claimant, Set<String> unconfirmed) {
        return !owners.isEmpty() && !owners.contains(claimant) && unconfirmed.containsAll(owners)
                ? new UnconfirmedOwners(Set.copyOf(owners)) : null;
    }

    /** Whether {@code e} is a NAMESPACE_SHARED refusal that no confirmed owner made (see the class comment). */
    static boolean refused(EnforcementException e) {
        return e.code() == ErrorCode.NAMESPACE_SHARED && e.getCause() instanceof UnconfirmedOwners;
    }
}
