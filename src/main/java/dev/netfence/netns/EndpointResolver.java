package dev.netfence.netns;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;

/**
 * Resolves an endpoint hostname to its A and AAAA addresses at apply time. Implementations
 * must give up after {@code timeout}; every failure (unknown host, no answer in time) is an
 * {@link dev.netfence.core.EnforcementException} with code RESOLUTION_FAILED, which the
 * enforcer retries.
 */
public interface EndpointResolver {

    /** All addresses of {@code hostname}, IPv4 and IPv6, never empty. */
    List<InetAddress> resolve(String hostname, Duration timeout);
}
