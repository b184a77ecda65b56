package dev.netfence.enforce;

import dev.netfence.hostguard.HostGuards;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs why a container's host guard is not claimed, once each time the reason changes, and once
 * when it is claimed again. The outcome says only {@code guards: ["netns"]} (its contract has no
 * field for the reason), and the reasons are many (a capability read that found CAP_NET_ADMIN over
 * the host, a pod member beside it, an interface that reaches outside without a host side, source
 * addresses not readable yet, ...): without this an operator, or a test that failed, could not tell
 * which held. Only with the host guard on ({@code auto}, {@code required}: there a reason fails the
 * apply and is in its error). Thread-safe; an entry per container whose guard is not claimed, gone
 * when the container leaves ({@link #forget}).
 */
final class GuardReasons {
    private static final Logger LOG = LoggerFactory.getLogger(GuardReasons.class);
    private final Map<String, String> notClaimed = new ConcurrentHashMap<>();

    /** What an apply or a resync of {@code containerId} found: {@code guards}, after every check of the enforcer's. */
    void seen(String containerId, HostGuards.Result guards) {
        if (containerId == null) {
            return;
        }
        String reason = guards.host() ? null : Objects.requireNonNullElse(guards.reason(), "no reason given");
        String before = reason == null ? notClaimed.remove(containerId) : notClaimed.put(containerId, reason);
        if (Objects.equals(before, reason)) {
            return;
        }
        if (reason != null) {
            LOG.info("container {}: its host guard is not claimed (guards {}): {}", containerId, guards.guards(), reason);
        } else {
            LOG.info("container {}: its host guard is claimed again", containerId);
        }
    }

    /** {@code containerId} left: nothing of it is kept. */
    void forget(String containerId) {
        notClaimed.remove(containerId);
    }
}
