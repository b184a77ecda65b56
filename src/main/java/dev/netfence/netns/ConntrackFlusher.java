package dev.netfence.netns;

import java.time.Duration;

/**
 * Deletes every connection-tracking entry of a pinned network namespace, both families. Run at
 * the end of every apply (first apply, re-apply, quarantine): the rules accept packets of
 * RELATED/ESTABLISHED flows, so without it a flow opened before the apply (under no rules or an
 * older, wider policy) would keep flowing after the outcome says {@code applied}. After the flush
 * the next packet of any flow is judged afresh by the new rules (TCP loose pickup): an allowed
 * flow goes on, a forbidden one stops. Implementations: {@link ConntrackToolFlusher} (the
 * {@code conntrack} tool inside the namespace) and in-process netlink ones. Failures are
 * EnforcementExceptions.
 */
public interface ConntrackFlusher {

    /** Flushes the namespace's connection-tracking table; FIREWALL_UNAVAILABLE or TIMEOUT when it cannot. */
    void flush(PinnedNamespace ns, Duration timeout);
}
