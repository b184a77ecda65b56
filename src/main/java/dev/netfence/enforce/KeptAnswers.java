package dev.netfence.enforce;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.policy.Endpoint;
import dev.netfence.policy.IpAddresses;
import dev.netfence.policy.NetworkPolicy;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a reconciliation plans with for a hostname that does not resolve now: the addresses the
 * container's rules were last verified with ({@link EnforcementRequest#lastResolved}, the live
 * set's), so that the resync still reads the rules back and repairs them. Before, a name that
 * failed to resolve (its zone answering NXDOMAIN or hanging, which a tenant controls for its own
 * names, or more answers than {@link ResolvedAddressBound} allows) failed every resync before the
 * read-back: rules removed from outside stayed removed and no drift was ever reported (review 57
 * #1). The answers kept are the ones already in force, so keeping them widens nothing; the
 * outcome says which name is stale in its {@code warnings}. Only for a failure of the resolution
 * itself (RESOLUTION_FAILED, or the lookups' half of the deadline used up; not the whole deadline,
 * not an interrupt), and only where every kept address is a literal: a name with none kept fails
 * as before. Pure and thread-safe.
 */
final class KeptAnswers {
    private KeptAnswers() {}

    /**
     * The addresses to keep for {@code host} after {@code failure}, or null when there are none
     * (nothing kept for it, an address that is not a literal, or a failure that is not the
     * resolution's own).
     */
    static List<InetAddress> forName(Map<String, List<String>> last, String host, EnforcementException failure,
            Deadline lookups) {
        boolean outOfLookupTime = failure.code() == ErrorCode.TIMEOUT && lookups.passed(); // the half, not the whole
        if (failure.code() != ErrorCode.RESOLUTION_FAILED && !outOfLookupTime || Thread.currentThread().isInterrupted()) {
            return null;
        }
        List<String> kept = last.get(host);
        if (kept == null || kept.isEmpty()) {
            return null;
        }
        List<InetAddress> addresses = new ArrayList<>(kept.size());
        for (String literal : kept) {
            InetAddress address = literal(literal);
            if (address == null) {
                return null;
            }
            addresses.add(address);
        }
        return List.copyOf(addresses);
    }

    /**
     * The kept addresses of every hostname of {@code policy}, for answers over the bound
     * ({@code failure}); null when any name has none.
     */
    static Map<String, List<InetAddress>> forAll(NetworkPolicy policy, Map<String, List<String>> last,
            EnforcementException failure, Deadline lookups) {
        Map<String, List<InetAddress>> all = new LinkedHashMap<>();
        for (Endpoint endpoint : policy.allowedEndpoints()) {
            if (endpoint.isHostname() && !all.containsKey(endpoint.host())) {
                List<InetAddress> kept = forName(last, endpoint.host(), failure, lookups);
                if (kept == null) {
                    return null;
                }
                all.put(endpoint.host(), kept);
            }
        }
        return all;
    }

    /**
     * The outcome's warning for {@code host}, whose {@code count} kept addresses stand in for answers
     * that failed: the same text at every resync while it fails, whatever the failure said (that
     * goes to the log), so that it is published once ({@code reconcile.LiveContainer.Reported}).
     */
    static String warning(String host, int count) {
        return "allowedEndpoints: " + host + " did not resolve at this resync; the " + count
                + " address(es) its rules were last verified with are kept until it resolves again";
    }

    /** The outcome's warning when the answers of all hostnames together were over the bound (as stable as {@link #warning}). */
    static final String OVER_BOUND = "allowedEndpoints: the policy's hostname endpoints resolved to more than "
            + ResolvedAddressBound.LIMIT + " addresses in all at this resync; the addresses the rules were last verified"
            + " with are kept for every hostname until the answers fit again";

    private static InetAddress literal(String text) {
        byte[] bytes = IpAddresses.parseIpv4(text);
        if (bytes == null) {
            bytes = IpAddresses.parseIpv6(text);
        }
        if (bytes == null) {
            return null;
        }
        try {
            return InetAddress.getByAddress(bytes); // no lookup: the bytes are given
        } catch (UnknownHostException e) {
            return null; // only for a wrong length, which the parsers never return
        }
    }
}
