package dev.netfence.rules;

import dev.netfence.policy.NetworkPolicy;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;

/** Turns a policy into rules (stub). */
public final class RulePlanner {
    public PlannedRules plan(
            NetworkPolicy policy, Map<String, List<InetAddress>> resolvedHostnames, List<InetAddress> nameservers) {
        throw new UnsupportedOperationException("not yet");
    }

    public PlannedRules quarantine() {
        throw new UnsupportedOperationException("not yet");
    }
}
