package dev.netfence.enforce;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.policy.Endpoint;
import dev.netfence.policy.NetworkPolicy;
import java.net.InetAddress;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The bound on how many addresses a policy's hostname endpoints bring into one plan, all its
 * hostnames together, checked after resolution and before anything is planned. Each hostname
 * endpoint counts the addresses its name resolved to (a name listed at two ports counts twice:
 * each pair is an accept rule, and a TCP one a second rule that picks its flows up again), so the
 * count bounds the rules the answers make. Nothing else did: a name keeps up to 64 addresses per
 * family ({@code netns.RecentAnswers}) and a policy names up to 512 endpoints, so a tenant's own
 * DNS zone answering 64 + 64 addresses per name made a plan of 131,121 rules, 8 to 12 s of CPU to
 * plan and render and 75 s to apply, and a new one at every resync. {@link #LIMIT} is 1,024: a
 * realistic policy of many CDN names fits (30 names at two ports with 8 A and 8 AAAA each is 960),
 * and the largest plan it allows is about 2,100 rules from hostnames (about 4,200 with 511 literal
 * endpoints and 512 blocked subnets beside them): one in-process nft apply at the bound (8 names
 * answering 64 + 64 each, 2,097 rules, planned, rendered, written and verified, host guard off) took 0.7 s, 0.3 to
 * 0.4 s once warm, on 2 cores (measured in a scratch kernel test), far inside the 30 s default deadline.
 * Over the bound the apply fails with RESOLUTION_FAILED, as for a name that does not resolve: the
 * same retries, the same quarantine on failure, and at a resync the rules in force are kept and the
 * resolution tried again at the next one, when the answers may be fewer. Nothing is truncated:
 * which addresses to drop would be a guess. Pure and thread-safe.
 */
final class ResolvedAddressBound {
    /** At most this many addresses in all, each hostname endpoint counting its name's. */
    static final int LIMIT = 1024;

    private ResolvedAddressBound() {
    }

    /** The addresses the hostname endpoints of {@code policy} bring, each distinct endpoint counting its name's. */
    static int count(NetworkPolicy policy, Map<String, List<InetAddress>> resolved) {
        Set<Endpoint> endpoints = new LinkedHashSet<>();
        int total = 0;
        for (Endpoint endpoint : policy.allowedEndpoints()) {
            if (endpoint.isHostname() && endpoints.add(endpoint)) {
                List<InetAddress> addresses = resolved.get(endpoint.host());
                total += addresses == null ? 0 : addresses.size();
            }
        }
        return total;
    }

    /** RESOLUTION_FAILED when {@code resolved} brings more than {@link #LIMIT} addresses into {@code policy}'s plan. */
    static void check(NetworkPolicy policy, Map<String, List<InetAddress>> resolved) {
        int total = count(policy, resolved);
        if (total > LIMIT) {
            throw new EnforcementException(ErrorCode.RESOLUTION_FAILED, "the policy's hostname endpoints resolved to "
                    + total + " addresses in all (each endpoint counting its hostname's), more than the limit of "
                    + LIMIT + " per policy; nothing was planned");
        }
    }
}
